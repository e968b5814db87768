"""Deposit receipts (metadata/deposits/*.xml) and the package fingerprint they carry.

The fingerprint says whether a package changed since it was deposited. It covers every tag
file and the payload manifests (validation has already tied the payload to them), but not
what recording a deposit itself adds: the receipts, the tag manifests, and the deposit
events in premis.xml. So recording a deposit never makes a package look changed, while a
recorded validation (a new non-deposit event) does.

A receipt is archiver's own account of one deposit. What the server sent (a SWORD deposit
receipt) is kept beside it exactly as sent, byte for byte, in a file of its own that the
receipt names with its SHA-256: never parsed and re-serialised, never redacted.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from archiver.deposit.base import Previous
from archiver.durable import is_temporary

DEPOSITS_DIR = "metadata/deposits"
NS = "https://archiver.example.org/ns/deposit-receipt/v1"
PREMIS_NS = "http://www.loc.gov/premis/v3"
_R = f"{{{NS}}}"
_P = f"{{{PREMIS_NS}}}"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)


@dataclass
class Receipt:
    event: str
    target: str
    kind: str
    package_id: str
    fingerprint: str
    outcome: str                      # "success" or "failure"
    started: str
    ended: str
    seconds: float
    remote_id: str | None = None
    version: str | None = None
    bytes: int = 0
    verified: bool = False
    message: str | None = None
    details: dict = field(default_factory=dict)
    # what the server sent: (role, bytes), e.g. ("deposit-receipt", b"<entry ...")
    server_documents: list[tuple[str, bytes]] = field(default_factory=list)

    def file_name(self) -> str:
        stamp = self.ended.replace("-", "").replace(":", "")
        return f"{DEPOSITS_DIR}/{stamp}-{self.kind}-{self.event[:8]}.xml"

    def server_files(self) -> dict[str, bytes]:
        """The server's documents under names beside the receipt ({path in the bag: bytes})."""
        base = self.file_name()[:-len(".xml")]
        return {f"{base}-{role}{_suffix(data)}": data for role, data in self.server_documents}

    def to_xml(self) -> bytes:
        root = etree.Element(_R + "depositReceipt", nsmap={None: NS})
        root.set("version", "1")

        def add(tag, text, **attrib):
            el = etree.SubElement(root, _R + tag, {k: str(v) for k, v in attrib.items()})
            if text is not None:
                el.text = str(text)
            return el

        add("event", self.event)
        add("target", self.target, kind=self.kind)
        add("packageIdentifier", self.package_id)
        add("packageFingerprint", self.fingerprint, algorithm="sha256")
        add("outcome", self.outcome)
        if self.remote_id:
            add("remoteIdentifier", self.remote_id)
        if self.version:
            add("version", self.version)
        add("bytes", self.bytes)
        add("verified", "true" if self.verified else "false")
        add("started", self.started)
        add("ended", self.ended)
        add("seconds", f"{self.seconds:.3f}")
        if self.message:
            add("message", self.message)
        for name, value in sorted(self.details.items()):
            if value is not None:
                add("detail", value, name=name)
        for (role, data), name in zip(self.server_documents, self.server_files()):
            add("serverDocument", None, role=role, file=name.rsplit("/", 1)[-1],
                sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
        etree.indent(root, space="  ")
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _suffix(data: bytes) -> str:
    # .atom for an Atom document, so that only archiver's own receipts end in .xml
    head = data[:512].lstrip()
    return ".atom" if head.startswith(b"<") and b"http://www.w3.org/2005/Atom" in data[:2048] else ".bin"


def read_receipts(bag: Path) -> list[dict]:
    """Every receipt in the package, oldest first, as plain dicts."""
    folder = Path(bag) / DEPOSITS_DIR
    found = []
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.xml")):
        try:
            root = etree.parse(str(path), _PARSER).getroot()
        except (OSError, etree.XMLSyntaxError):
            continue
        if root.tag != _R + "depositReceipt":
            continue
        item = {"file": path.name}
        for child in root:
            if not isinstance(child.tag, str):
                continue
            name = etree.QName(child).localname
            if name == "detail":
                item.setdefault("details", {})[child.get("name")] = child.text
            elif name == "target":
                item["target"], item["kind"] = child.text, child.get("kind")
            elif name == "serverDocument":
                item.setdefault("server_documents", []).append(dict(child.attrib))
            elif name != "serverReceipt":  # older receipts embedded the server's receipt
                item[name] = child.text
        found.append(item)
    found.sort(key=lambda r: (r.get("ended") or "", r["file"]))
    return found


def previous_deposit(bag: Path, target_uri: str, receipts: list[dict] | None = None) -> Previous | None:
    """The latest successful deposit of this package to `target_uri`, or a failed one after
    it that left a container on the target (its receipt names an Edit-IRI): the next deposit
    finishes that container rather than making another."""
    for item in reversed(read_receipts(bag) if receipts is None else receipts):
        if item.get("target") != target_uri:
            continue
        success = item.get("outcome") == "success"
        if success or (item.get("details") or {}).get("edit-iri"):
            return Previous(fingerprint=item.get("packageFingerprint") or "",
                            remote_id=item.get("remoteIdentifier") or "",
                            version=item.get("version"), details=item.get("details", {}),
                            outcome="success" if success else "failure")
    return None


def changed_by_recording(rel: str) -> bool:
    """Whether recording a deposit changes this file of a package (bag-relative path): the
    receipts, the tag manifests, premis.xml. Left out of the fingerprint, and of comparing a
    deposit made before it was recorded with the package as it is now."""
    return (rel.startswith(DEPOSITS_DIR + "/") or rel == "metadata/premis.xml"
            or ("/" not in rel and rel.startswith("tagmanifest-")))


_EVENT_AGENTS = etree.XPath("p:linkingAgentIdentifier/p:linkingAgentIdentifierValue/text()",
                            namespaces={"p": PREMIS_NS})  # compiled once, not per event


def _premis_digest(root: etree._Element, deposit_events: set[str]) -> str:
    """Digest of premis.xml (its root, left unchanged) as it would be without the deposit
    events (and agents only they use)."""
    ns = {"p": PREMIS_NS}
    left_out, removed_agents, kept_agents = set(), set(), set()
    for event in root.findall("p:event", ns) if deposit_events else ():
        agents = set(_EVENT_AGENTS(event))
        if event.findtext("p:eventIdentifier/p:eventIdentifierValue", namespaces=ns) in deposit_events:
            left_out.add(event)
            removed_agents |= agents
        else:
            kept_agents |= agents
    for agent in root.findall("p:agent", ns) if removed_agents - kept_agents else ():
        if agent.findtext("p:agentIdentifier/p:agentIdentifierValue",
                          namespaces=ns) in removed_agents - kept_agents:
            left_out.add(agent)
    # each element (no comments or processing instructions) as (tag, sorted attributes,
    # stripped text), in document order, hashed in one piece: the same digest as hashing
    # them one by one
    parts = [_premis_part(root)]
    for child in root.iterchildren(etree.Element):
        if child not in left_out:
            parts += map(_premis_part, child.iter(etree.Element))
    return hashlib.sha256("".join(parts).encode()).hexdigest()


def _premis_part(el: etree._Element) -> str:
    attributes, text = el.items(), el.text
    if len(attributes) > 1:
        attributes.sort()
    return repr((el.tag, attributes, text.strip() if text else ""))


def _premis_file_digest(path: Path, deposit_events: set[str]) -> str:
    data = path.read_bytes()
    try:
        return _premis_digest(etree.fromstring(data, _PARSER), deposit_events)
    except etree.XMLSyntaxError:
        return hashlib.sha256(data).hexdigest()


def package_fingerprint(bag: Path, receipts: list[dict] | None = None,
                        vouched: dict[str, str] | None = None,
                        premis: etree._Element | None = None) -> str:
    """`vouched`: {bag path: sha256} of tag files a validation has just checked (the bag's
    tagmanifest-sha256 entries), taken instead of reading those files again; `premis`: the
    root of metadata/premis.xml as that validation parsed it, instead of parsing it again."""
    bag = Path(bag)
    vouched = vouched or {}
    receipts = read_receipts(bag) if receipts is None else receipts
    deposit_events = {r["event"] for r in receipts if r.get("event")}
    entries = []
    top = os.fspath(bag)
    for root, dirs, files in os.walk(top):
        rel_root = root[len(top) + 1:] or "."  # os.walk's folders all begin with `top`/
        if rel_root == ".":
            dirs[:] = [d for d in dirs if d != "data"]  # the payload manifests stand for data/
        dirs[:] = [d for d in dirs if not is_temporary(d)]  # archiver's own (a pending deposit)
        for name in files:
            if is_temporary(name):
                continue
            rel = name if rel_root == "." else f"{rel_root}/{name}"
            if changed_by_recording(rel) and rel != "metadata/premis.xml":
                continue  # premis.xml counts, without its deposit events
            if rel == "metadata/premis.xml":
                digest = _premis_digest(premis, deposit_events) if premis is not None else \
                    _premis_file_digest(bag / rel, deposit_events)
            elif rel in vouched:
                digest = vouched[rel]
            else:
                digest = hashlib.sha256((bag / rel).read_bytes()).hexdigest()
            entries.append(f"{rel}\0{digest}\n")
    h = hashlib.sha256()
    for entry in sorted(entries):
        h.update(entry.encode("utf-8"))
    return h.hexdigest()
