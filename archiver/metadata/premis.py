"""PREMIS 3 provenance: objects (fixity, size, format), events and agents, to and from XML."""
from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from archiver.metadata.vocabulary import (AGENT_ROLES, AGENT_TYPES, EVENT_TYPES, HASH_CODES,
                                          HASH_LABELS, LOC)
from archiver.metadata import xmlwrite
from archiver.metadata.xmlwrite import leaf
from archiver.model import Agent, Event, FileRecord

NS = "http://www.loc.gov/premis/v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
P = f"{{{NS}}}"
NSMAP = {"premis": NS, "xsi": XSI}


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    el = etree.SubElement(parent, P + tag, attrib)
    if text is not None:
        el.text = text
    return el


def _identifier(parent: etree._Element, kind: str, type_: str, value: str) -> None:
    el = _sub(parent, f"{kind}Identifier")
    _sub(el, f"{kind}IdentifierType", type_)
    _sub(el, f"{kind}IdentifierValue", value)


# Each element is made inside its parent (SubElement): an element made on its own carries
# its own namespace map, and appending it to the document costs a reconciliation (a third
# of the document's build time).

def add_object(root: etree._Element, record: FileRecord, originator: str) -> etree._Element:
    obj = _sub(root, "object", **{f"{{{XSI}}}type": "premis:file"})
    _identifier(obj, "object", "local", record.path)
    chars = _sub(obj, "objectCharacteristics")
    _sub(chars, "compositionLevel", "0")
    for alg, digest in sorted(record.digests.items()):
        fixity = _sub(chars, "fixity")
        _sub(fixity, "messageDigestAlgorithm", HASH_LABELS[alg],
             authority="cryptographicHashFunctions",
             authorityURI="http://id.loc.gov/vocabulary/preservation/cryptographicHashFunctions",
             valueURI=f"http://id.loc.gov/vocabulary/preservation/cryptographicHashFunctions/{HASH_CODES[alg]}")
        _sub(fixity, "messageDigest", digest)
        _sub(fixity, "messageDigestOriginator", originator)
    _sub(chars, "size", str(record.size))
    fmt = _sub(chars, "format")
    designation = _sub(fmt, "formatDesignation")
    _sub(designation, "formatName", record.media_type)
    if record.pronom:
        registry = _sub(fmt, "formatRegistry")
        _sub(registry, "formatRegistryName", "PRONOM")
        _sub(registry, "formatRegistryKey", record.pronom)
        _sub(registry, "formatRegistryRole", "identification")
    _sub(obj, "originalName", record.original_name)
    return obj


def add_event_element(root: etree._Element, event: Event) -> etree._Element:
    el = _sub(root, "event")
    _identifier(el, "event", "UUID", event.identifier)
    _sub(el, "eventType", EVENT_TYPES[event.type], authority="eventType",
         authorityURI=LOC + "eventType", valueURI=LOC + "eventType/" + event.type)
    _sub(el, "eventDateTime", event.date_time)
    if event.detail:
        _sub(_sub(el, "eventDetailInformation"), "eventDetail", event.detail)
    outcome = _sub(el, "eventOutcomeInformation")
    _sub(outcome, "eventOutcome", event.outcome)
    if event.outcome_detail:
        _sub(_sub(outcome, "eventOutcomeDetail"), "eventOutcomeDetailNote", event.outcome_detail)
    for agent_id, role in event.agents:
        link = _sub(el, "linkingAgentIdentifier")
        _sub(link, "linkingAgentIdentifierType", "local")
        _sub(link, "linkingAgentIdentifierValue", agent_id)
        code = AGENT_ROLES.get(role)
        attrs = ({"authority": "eventRelatedAgentRole",
                  "authorityURI": LOC + "eventRelatedAgentRole",
                  "valueURI": LOC + "eventRelatedAgentRole/" + code} if code else {})
        _sub(link, "linkingAgentRole", role, **attrs)
    for object_id in event.objects:
        link = _sub(el, "linkingObjectIdentifier")
        _sub(link, "linkingObjectIdentifierType", "local")
        _sub(link, "linkingObjectIdentifierValue", object_id)
    return el


def add_agent(root: etree._Element, agent: Agent) -> etree._Element:
    el = _sub(root, "agent")
    _identifier(el, "agent", "local", agent.identifier)
    _sub(el, "agentName", agent.name)
    code = AGENT_TYPES[agent.type]
    _sub(el, "agentType", agent.type, authority="agentType", authorityURI=LOC + "agentType",
         valueURI=LOC + "agentType/" + code)
    if agent.version:
        _sub(el, "agentVersion", agent.version)
    return el


def premis_document(files: Iterable[FileRecord], events: Iterable[Event],
                    agents: Iterable[Agent], originator: str) -> bytes:
    """A new PREMIS document, written as text: the same bytes as serializing the tree
    add_object, add_event_element and add_agent make (tests/metadata/test_xmlwrite.py),
    in a fifth of the time (one per package built)."""
    body: list[str] = []
    for record in files:
        _object_text(body, record, originator)
    for event in events:
        _event_text(body, event)
    for agent in agents:
        _agent_text(body, agent)
    return xmlwrite.document(_ROOT, "premis:premis", body)


_ROOT = f'<premis:premis xmlns:premis="{NS}" xmlns:xsi="{XSI}" version="3.0">'
_HASH_ATTRS = {alg: (' authority="cryptographicHashFunctions" authorityURI="http://id.loc.gov/'
                     'vocabulary/preservation/cryptographicHashFunctions" valueURI="http://id.loc.gov/'
                     f'vocabulary/preservation/cryptographicHashFunctions/{xmlwrite.attr(code)}"')
               for alg, code in HASH_CODES.items()}
_I = ["  " * n for n in range(6)]


def _identifier_text(out: list[str], depth: int, kind: str, type_: str, value: str | None) -> None:
    i = _I[depth]
    out.append(f"{i}<premis:{kind}Identifier>\n")
    out.append(leaf(_I[depth + 1], f"premis:{kind}IdentifierType", type_))
    out.append(leaf(_I[depth + 1], f"premis:{kind}IdentifierValue", value))
    out.append(f"{i}</premis:{kind}Identifier>\n")


def _object_text(out: list[str], record: FileRecord, originator: str) -> None:
    i1, i2, i3, i4, i5 = _I[1:6]
    out.append(f'{i1}<premis:object xsi:type="premis:file">\n')
    _identifier_text(out, 2, "object", "local", record.path)
    out.append(f"{i2}<premis:objectCharacteristics>\n{i3}<premis:compositionLevel>0</premis:compositionLevel>\n")
    for alg, digest in sorted(record.digests.items()):
        out.append(f"{i3}<premis:fixity>\n")
        out.append(leaf(i4, "premis:messageDigestAlgorithm", HASH_LABELS[alg], _HASH_ATTRS[alg]))
        out.append(leaf(i4, "premis:messageDigest", digest))
        out.append(leaf(i4, "premis:messageDigestOriginator", originator))
        out.append(f"{i3}</premis:fixity>\n")
    out.append(leaf(i3, "premis:size", str(record.size)))
    out.append(f"{i3}<premis:format>\n{i4}<premis:formatDesignation>\n")
    out.append(leaf(i5, "premis:formatName", record.media_type))
    out.append(f"{i4}</premis:formatDesignation>\n")
    if record.pronom:
        out.append(f"{i4}<premis:formatRegistry>\n{i5}<premis:formatRegistryName>PRONOM</premis:formatRegistryName>\n")
        out.append(leaf(i5, "premis:formatRegistryKey", record.pronom))
        out.append(f"{i5}<premis:formatRegistryRole>identification</premis:formatRegistryRole>\n{i4}</premis:formatRegistry>\n")
    out.append(f"{i3}</premis:format>\n{i2}</premis:objectCharacteristics>\n")
    out.append(leaf(i2, "premis:originalName", record.original_name))
    out.append(f"{i1}</premis:object>\n")


def _event_text(out: list[str], event: Event) -> None:
    i1, i2, i3, i4 = _I[1:5]
    out.append(f"{i1}<premis:event>\n")
    _identifier_text(out, 2, "event", "UUID", event.identifier)
    out.append(leaf(i2, "premis:eventType", EVENT_TYPES[event.type], xmlwrite.attrs(
        (("authority", "eventType"), ("authorityURI", LOC + "eventType"),
         ("valueURI", LOC + "eventType/" + event.type)))))
    out.append(leaf(i2, "premis:eventDateTime", event.date_time))
    if event.detail:
        out.append(f"{i2}<premis:eventDetailInformation>\n")
        out.append(leaf(i3, "premis:eventDetail", event.detail))
        out.append(f"{i2}</premis:eventDetailInformation>\n")
    out.append(f"{i2}<premis:eventOutcomeInformation>\n")
    out.append(leaf(i3, "premis:eventOutcome", event.outcome))
    if event.outcome_detail:
        out.append(f"{i3}<premis:eventOutcomeDetail>\n")
        out.append(leaf(i4, "premis:eventOutcomeDetailNote", event.outcome_detail))
        out.append(f"{i3}</premis:eventOutcomeDetail>\n")
    out.append(f"{i2}</premis:eventOutcomeInformation>\n")
    for agent_id, role in event.agents:
        out.append(f"{i2}<premis:linkingAgentIdentifier>\n{i3}<premis:linkingAgentIdentifierType>local</premis:linkingAgentIdentifierType>\n")
        out.append(leaf(i3, "premis:linkingAgentIdentifierValue", agent_id))
        code = AGENT_ROLES.get(role)
        roles = xmlwrite.attrs((("authority", "eventRelatedAgentRole"),
                                ("authorityURI", LOC + "eventRelatedAgentRole"),
                                ("valueURI", LOC + "eventRelatedAgentRole/" + code))) if code else ""
        out.append(leaf(i3, "premis:linkingAgentRole", role, roles))
        out.append(f"{i2}</premis:linkingAgentIdentifier>\n")
    for object_id in event.objects:
        out.append(f"{i2}<premis:linkingObjectIdentifier>\n{i3}<premis:linkingObjectIdentifierType>local</premis:linkingObjectIdentifierType>\n")
        out.append(leaf(i3, "premis:linkingObjectIdentifierValue", object_id))
        out.append(f"{i2}</premis:linkingObjectIdentifier>\n")
    out.append(f"{i1}</premis:event>\n")


def _agent_text(out: list[str], agent: Agent) -> None:
    i1, i2 = _I[1:3]
    out.append(f"{i1}<premis:agent>\n")
    _identifier_text(out, 2, "agent", "local", agent.identifier)
    out.append(leaf(i2, "premis:agentName", agent.name))
    code = AGENT_TYPES[agent.type]
    out.append(leaf(i2, "premis:agentType", agent.type, xmlwrite.attrs(
        (("authority", "agentType"), ("authorityURI", LOC + "agentType"),
         ("valueURI", LOC + "agentType/" + code)))))
    if agent.version:
        out.append(leaf(i2, "premis:agentVersion", agent.version))
    out.append(f"{i1}</premis:agent>\n")


def premis_tree(files: Iterable[FileRecord], events: Iterable[Event],
                agents: Iterable[Agent], originator: str) -> etree._Element:
    """The same document as an lxml tree (premis_document's reference in the tests)."""
    root = etree.Element(P + "premis", {"version": "3.0"}, nsmap=NSMAP)
    for record in files:
        add_object(root, record, originator)
    for event in events:
        add_event_element(root, event)
    for agent in agents:
        add_agent(root, agent)
    return root


def serialize(root: etree._Element) -> bytes:
    # pretty_print indents a tree that has no whitespace of its own (add_event parses with
    # remove_blank_text), so no separate indent pass
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


_AGENT_IDENTIFIERS = etree.XPath("premis:agent/premis:agentIdentifier/premis:agentIdentifierValue/text()",
                                 namespaces={"premis": NS})  # compiled once, not per record


def add_event(document: bytes, event: Event, agents: Iterable[Agent],
              drop: Iterable[str] = ()) -> bytes:
    """Return `document` with `event` after the last event and any agents it lacks; events
    whose identifiers are in `drop` are left out (audit --record supersedes its own)."""
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    root = etree.fromstring(document, parser)
    drop = set(drop)
    for old in root.findall(P + "event") if drop else ():
        if old.findtext(f"{P}eventIdentifier/{P}eventIdentifierValue") in drop:
            root.remove(old)
    known = set(_AGENT_IDENTIFIERS(root))
    children = list(root)
    anchor = max((i for i, c in enumerate(children) if c.tag in (P + "object", P + "event")),
                 default=-1)
    root.insert(anchor + 1, add_event_element(root, event))  # made last, moved after the events
    position = max((i for i, c in enumerate(root) if c.tag == P + "agent"),
                   default=anchor + 1) + 1
    for agent in agents:
        if agent.identifier not in known:
            root.insert(position, add_agent(root, agent))
            known.add(agent.identifier)
            position += 1
    return serialize(root)


def fixity_values(document: bytes) -> dict[str, dict[str, str]]:
    """{object identifier: {algorithm label: digest}} from a PREMIS document."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return object_fixity(etree.fromstring(document, parser))


def object_fixity(root: etree._Element) -> dict[str, dict[str, str]]:
    """fixity_values of a document already parsed (its root element)."""
    ns = {"premis": NS}
    out: dict[str, dict[str, str]] = {}
    for obj in root.iterfind("premis:object", ns):
        oid = obj.findtext("premis:objectIdentifier/premis:objectIdentifierValue", namespaces=ns)
        digests = out.setdefault(oid or "", {})
        for fixity in obj.iterfind("premis:objectCharacteristics/premis:fixity", ns):
            alg = fixity.findtext("premis:messageDigestAlgorithm", namespaces=ns) or ""
            digests[alg] = fixity.findtext("premis:messageDigest", namespaces=ns) or ""
    return out


def event_list(document: bytes) -> list[tuple[str, str, str]]:
    """(identifier, eventType as written, dateTime) of every event, in document order."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(document, parser)
    ns = {"premis": NS}
    return [(ev.findtext("premis:eventIdentifier/premis:eventIdentifierValue", namespaces=ns) or "",
             ev.findtext("premis:eventType", namespaces=ns) or "",
             ev.findtext("premis:eventDateTime", namespaces=ns) or "")
            for ev in root.iterfind("premis:event", ns)]

# -- reading --------------------------------------------------------------------------------------
# (the root from archiver.metadata.xmlread.parse_untrusted)
_NS = {"premis": NS}


def read_events(root: etree._Element) -> list[Event]:
    """Every event, in document order. `type` is the eventType vocabulary code where the
    element names it (valueURI), else the element's text."""
    events = []
    for el in root.iterfind("premis:event", _NS):
        type_el = el.find("premis:eventType", _NS)
        uri = type_el.get("valueURI", "") if type_el is not None else ""
        code = uri.rsplit("/", 1)[-1] if uri.startswith(LOC + "eventType/") else None
        agents = tuple((link.findtext("premis:linkingAgentIdentifierValue", "", _NS),
                        link.findtext("premis:linkingAgentRole", "", _NS))
                       for link in el.iterfind("premis:linkingAgentIdentifier", _NS))
        objects = tuple(link.findtext("premis:linkingObjectIdentifierValue", "", _NS)
                        for link in el.iterfind("premis:linkingObjectIdentifier", _NS))
        events.append(Event(
            identifier=el.findtext("premis:eventIdentifier/premis:eventIdentifierValue", "", _NS),
            type=code or (type_el.text or "" if type_el is not None else ""),
            date_time=el.findtext("premis:eventDateTime", "", _NS),
            outcome=el.findtext("premis:eventOutcomeInformation/premis:eventOutcome", "", _NS),
            detail=el.findtext("premis:eventDetailInformation/premis:eventDetail", None, _NS),
            outcome_detail=el.findtext("premis:eventOutcomeInformation/premis:eventOutcomeDetail/"
                                       "premis:eventOutcomeDetailNote", None, _NS),
            agents=agents, objects=objects))
    return events


def read_agents(root: etree._Element) -> list[Agent]:
    return [Agent(identifier=el.findtext("premis:agentIdentifier/premis:agentIdentifierValue", "", _NS),
                  name=el.findtext("premis:agentName", "", _NS),
                  type=el.findtext("premis:agentType", "", _NS),
                  version=el.findtext("premis:agentVersion", None, _NS))
            for el in root.iterfind("premis:agent", _NS)]


def read_objects(root: etree._Element) -> dict[str, dict]:
    """{object identifier: {"size", "format", "pronom"}} as PREMIS recorded them."""
    out = {}
    for obj in root.iterfind("premis:object", _NS):
        oid = obj.findtext("premis:objectIdentifier/premis:objectIdentifierValue", "", _NS)
        chars = obj.find("premis:objectCharacteristics", _NS)
        if chars is None:
            continue
        size = chars.findtext("premis:size", None, _NS)
        out[oid] = {
            "size": int(size) if size and size.isdigit() else None,
            "format": chars.findtext("premis:format/premis:formatDesignation/premis:formatName",
                                     None, _NS),
            "pronom": chars.findtext("premis:format/premis:formatRegistry/premis:formatRegistryKey",
                                     None, _NS),
        }
    return out
