"""The documents a SWORD 2.0 server sends, read into plain data (SWORD 2.0 profile).

Service document (section 6.1), a collection's listing (6.2), deposit receipt (section 10), statement in its Atom and
OAI-ORE serialisations (section 11) and error document (section 12). Readers are lenient
where servers differ (the older http://purl.org/net/sword/ namespace, the state as
`atom:category` as the reference server writes it or as `sword:state`) and never resolve
entities or the network.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from archiver.deposit.base import DepositError

ATOM = "http://www.w3.org/2005/Atom"
APP = "http://www.w3.org/2007/app"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
ORE = "http://www.openarchives.org/ore/terms/"
TERMS = "http://purl.org/net/sword/terms/"
# The profile names http://purl.org/net/sword/terms/; some servers still use the older form.
SWORD_NAMESPACES = (TERMS, "http://purl.org/net/sword/")
BAGIT = "http://purl.org/net/sword/package/BagIt"
SIMPLE_ZIP = "http://purl.org/net/sword/package/SimpleZip"
REL_ADD = TERMS + "add"
REL_STATEMENT = TERMS + "statement"
REL_ORIGINAL = TERMS + "originalDeposit"
STATE_SCHEME = TERMS + "state"
ATOM_FEED = "application/atom+xml;type=feed"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


@dataclass
class Collection:
    href: str
    title: str
    accept: list[str] = field(default_factory=list)
    packaging: list[str] = field(default_factory=list)
    mediation: bool = False


@dataclass
class DepositReceipt:
    edit_iri: str | None
    em_iri: str | None
    se_iri: str | None
    statements: dict[str, str]   # media type -> IRI
    identifier: str | None
    treatment: str | None
    document: bytes              # exactly as the server sent it
    packaging: list[str] = field(default_factory=list)  # formats the EM-IRI disseminates
    original_deposit: str | None = None
    content_iri: str | None = None


@dataclass
class OriginalDeposit:
    href: str
    packaging: list[str]
    deposited_on: str | None = None


@dataclass
class Statement:
    serialisation: str                            # "atom" or "ore"
    states: list[tuple[str, str]]                 # (state IRI, description)
    original_deposits: list[OriginalDeposit]


def _sword(el, name):
    for ns in SWORD_NAMESPACES:
        found = el.find(f"{{{ns}}}{name}")
        if found is not None:
            return found
    return None


def _sword_all(el, name):
    return [x for ns in SWORD_NAMESPACES for x in el.findall(f"{{{ns}}}{name}")]


def _text(el) -> str:
    return " ".join((el.text or "").split()) if el is not None else ""


def _parse(data: bytes, what: str):
    try:
        return etree.fromstring(data, _PARSER)
    except (etree.XMLSyntaxError, ValueError) as e:
        raise DepositError(f"the {what} is not XML ({e})", code="SWORD-BAD-RESPONSE") from None


def parse_service_document(data: bytes) -> list[Collection]:
    root = _parse(data, "service document")
    collections = []
    for col in root.iter(f"{{{APP}}}collection"):
        mediation = _sword(col, "mediation")
        collections.append(Collection(
            href=col.get("href", ""),
            title=(col.findtext(f"{{{ATOM}}}title") or "").strip(),
            accept=[(a.text or "").strip() for a in col.findall(f"{{{APP}}}accept")],
            packaging=[(p.text or "").strip() for p in _sword_all(col, "acceptPackaging")],
            mediation=mediation is not None and (mediation.text or "").strip() == "true"))
    return collections


def parse_receipt(data: bytes) -> DepositReceipt:
    root = _parse(data, "deposit receipt")
    links: dict[str, str] = {}
    statements: dict[str, str] = {}
    edit_media: list[tuple[str | None, str]] = []
    for link in root.findall(f"{{{ATOM}}}link"):
        rel, href, kind = link.get("rel"), link.get("href"), link.get("type")
        if not rel or not href:
            continue
        if rel == REL_STATEMENT:
            statements[kind or ""] = href
        elif rel == "edit-media":
            edit_media.append((kind, href))
        else:
            links.setdefault(rel, href)
    # The reference server lists the EM-IRI twice: the media resource and its Atom feed
    # (profile 6.4.1); content goes to and comes from the one that is not the feed.
    media = [href for kind, href in edit_media if not (kind or "").startswith("application/atom+xml")]
    content = root.find(f"{{{ATOM}}}content")
    treatment = _sword(root, "treatment")
    return DepositReceipt(
        edit_iri=links.get("edit"), em_iri=(media or [h for _, h in edit_media] or [None])[0],
        se_iri=links.get(REL_ADD), statements=statements,
        identifier=root.findtext(f"{{{ATOM}}}id"),
        treatment=_text(treatment) if treatment is not None else None, document=data,
        packaging=[_text(p) for p in _sword_all(root, "packaging") if _text(p)],
        original_deposit=links.get(REL_ORIGINAL),
        content_iri=content.get("src") if content is not None else None)


@dataclass
class CollectionPage:
    """One page of a collection's Atom feed (profile 6.2): its members' Edit-IRIs (with
    their atom:id) and the next page, if the feed is paged (RFC 5005)."""
    members: list[tuple[str, str]]      # (Edit-IRI, atom:id)
    next: str | None


def parse_collection_feed(data: bytes) -> CollectionPage:
    root = _parse(data, "collection feed")
    if root.tag != f"{{{ATOM}}}feed":
        raise DepositError(f"the collection's listing is not an Atom feed (root element "
                           f"{etree.QName(root).localname})", code="SWORD-BAD-RESPONSE")
    members = []
    for entry in root.findall(f"{{{ATOM}}}entry"):
        edit = next((link.get("href") for link in entry.findall(f"{{{ATOM}}}link")
                     if link.get("rel") == "edit" and link.get("href")), None)
        if edit:
            members.append((edit, (entry.findtext(f"{{{ATOM}}}id") or "").strip()))
    following = next((link.get("href") for link in root.findall(f"{{{ATOM}}}link")
                      if link.get("rel") == "next" and link.get("href")), None)
    return CollectionPage(members, following)


def parse_error(data: bytes) -> tuple[str, str] | None:
    """(error IRI, summary) from a SWORD error document, or None."""
    try:
        root = etree.fromstring(data, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if etree.QName(root).localname != "error" or etree.QName(root).namespace not in SWORD_NAMESPACES:
        return None
    summary = root.findtext(f"{{{ATOM}}}summary") or root.findtext(f"{{{ATOM}}}title") or ""
    return root.get("href", ""), " ".join(summary.split())


def parse_statement(data: bytes) -> Statement:
    """A statement in either serialisation, told apart by its root element."""
    root = _parse(data, "statement")
    if root.tag == f"{{{ATOM}}}feed":
        return _atom_statement(root)
    if root.tag == f"{{{RDF}}}RDF":
        return _ore_statement(root)
    raise DepositError(f"the statement is neither an Atom feed nor OAI-ORE RDF/XML "
                       f"(root element {etree.QName(root).localname})", code="SWORD-BAD-RESPONSE")


def _packaging_or_default(values: list[str]) -> list[str]:
    # profile 11.2, 11.3: no sword:packaging on an original deposit means SimpleZip
    return [v for v in values if v] or [SIMPLE_ZIP]


def _atom_statement(feed) -> Statement:
    states = [(c.get("term", ""), _text(c)) for c in feed.findall(f"{{{ATOM}}}category")
              if c.get("scheme") == STATE_SCHEME]
    for state in _sword_all(feed, "state"):
        states.append((state.get("href", ""), _text(_sword(state, "stateDescription"))))
    originals = []
    for entry in feed.findall(f"{{{ATOM}}}entry"):
        terms = {c.get("term") for c in entry.findall(f"{{{ATOM}}}category")}
        if not terms & {ns + "originalDeposit" for ns in SWORD_NAMESPACES}:
            continue
        content = entry.find(f"{{{ATOM}}}content")
        href = content.get("src") if content is not None else None
        if not href:
            continue
        originals.append(OriginalDeposit(
            href=href, packaging=_packaging_or_default([_text(p) for p in _sword_all(entry, "packaging")]),
            deposited_on=_text(_sword(entry, "depositedOn")) or None))
    return Statement("atom", states, originals)


def _ore_statement(rdf) -> Statement:
    about = {}
    for desc in rdf.findall(f"{{{RDF}}}Description"):
        about.setdefault(desc.get(f"{{{RDF}}}about"), []).append(desc)
    resource = f"{{{RDF}}}resource"
    original_hrefs, state_iris = [], []
    for desc in rdf.findall(f"{{{RDF}}}Description"):
        original_hrefs += [el.get(resource) for el in _sword_all(desc, "originalDeposit") if el.get(resource)]
        state_iris += [el.get(resource) for el in _sword_all(desc, "state") if el.get(resource)]
    states = []
    for iri in dict.fromkeys(state_iris):
        described = [_text(_sword(d, "stateDescription")) for d in about.get(iri, [])]
        states.append((iri, next((t for t in described if t), "")))
    originals = []
    for href in dict.fromkeys(original_hrefs):
        descs = about.get(href, [])
        packaging = [el.get(resource) or _text(el) for d in descs for el in _sword_all(d, "packaging")]
        deposited = next((_text(on) for d in descs if (on := _sword(d, "depositedOn")) is not None),
                         None)
        originals.append(OriginalDeposit(href, _packaging_or_default(packaging), deposited))
    return Statement("ore", states, originals)
