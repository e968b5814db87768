"""The ledger's audits exported: CSV (one row per finding, or one per clean audit) and PREMIS
XML (one fixity-check event per audit, linked to the package and the operator). Both are
written as they are read from the ledger, so a ledger of millions of audits exports in
constant memory."""
from __future__ import annotations

import csv
import uuid
from typing import IO

from lxml import etree

from archiver.metadata.premis import NSMAP, P, add_agent, add_event_element
from archiver.metadata.provenance import SOFTWARE
from archiver.model import Agent, Event

CSV_COLUMNS = ("time", "identifier", "location", "agent", "round", "outcome", "files", "bytes",
               "code", "path", "message")


def export_csv(ledger, out: IO[str]) -> int:
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for state, audit in ledger.all_audits():
        base = [audit.time, state.identifier, audit.location, audit.agent, audit.round,
                audit.outcome, audit.files, audit.bytes]
        for f in audit.findings or [None]:
            writer.writerow(base + ([f["code"], f["path"], f["message"]] if f else ["", "", ""]))
        count += 1
    return count


def _operator(name: str) -> Agent:
    slug = "".join(c if c.isalnum() or c in "._-" else "-" for c in name)
    return Agent(identifier=f"operator-{slug}", name=name, type="person")


def export_premis(ledger, out: IO[bytes]) -> int:
    """A PREMIS 3 document: an intellectual entity per package, a `fix` event per audit."""
    count = 0
    agents = {}
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(P + "premis", {"version": "3.0"}, nsmap=NSMAP):
            holder = etree.Element(P + "premis", nsmap=NSMAP)
            for state in ledger.packages():
                obj = etree.SubElement(holder, P + "object",
                                       {"{http://www.w3.org/2001/XMLSchema-instance}type":
                                        "premis:intellectualEntity"})
                ident = etree.SubElement(obj, P + "objectIdentifier")
                etree.SubElement(ident, P + "objectIdentifierType").text = "local"
                etree.SubElement(ident, P + "objectIdentifierValue").text = state.identifier
                xf.write(obj)
                holder.remove(obj)
            for state, audit in ledger.all_audits():
                operator = agents.setdefault(audit.agent, _operator(audit.agent))
                notes = "; ".join(f"{f['code']} {f['path']}: {f['message']}" for f in audit.findings)
                event = Event(identifier=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{audit.location}|{audit.time}|{count}")), type="fix",
                              date_time=audit.time,
                              outcome="success" if audit.outcome == "ok" else "failure",
                              detail=f"archiver audit of {audit.location}: {audit.files} file(s), "
                                     f"{audit.bytes} bytes (round {audit.round})",
                              outcome_detail=notes or None,
                              agents=((SOFTWARE.identifier, "executing program"),
                                      (operator.identifier, "implementer")),
                              objects=(state.identifier,))
                el = add_event_element(holder, event)
                xf.write(el)
                holder.remove(el)
                count += 1
            for agent in (SOFTWARE, *agents.values()):
                el = add_agent(holder, agent)
                xf.write(el)
                holder.remove(el)
    return count

