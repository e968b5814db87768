"""PREMIS 3 provenance: objects (fixity, size, format), events and agents, to and from XML."""
from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from archiver.metadata.vocabulary import (AGENT_ROLES, AGENT_TYPES, EVENT_TYPES, HASH_CODES,
                                          HASH_LABELS, LOC)
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
    root = etree.Element(P + "premis", {"version": "3.0"}, nsmap=NSMAP)
    for record in files:
        add_object(root, record, originator)
    for event in events:
        add_event_element(root, event)
    for agent in agents:
        add_agent(root, agent)
    return serialize(root)


def serialize(root: etree._Element) -> bytes:
    # pretty_print indents a tree that has no whitespace of its own (add_event parses with
    # remove_blank_text), so no separate indent pass
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


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
    known = set(root.xpath("premis:agent/premis:agentIdentifier/premis:agentIdentifierValue/text()",
                           namespaces={"premis": NS}))
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
    root = etree.fromstring(document, parser)
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
