"""dc.xml, premis.xml and mets.xml are written as text (archiver.metadata.xmlwrite): every byte
must be what lxml writes for the same tree, whatever the strings hold. The references below are
the lxml builders archiver used before (PREMIS's still serve record_event)."""
from __future__ import annotations

import random
from urllib.parse import quote

import pytest
from lxml import etree

from archiver.metadata import xmlwrite
from archiver.metadata.dc import NSMAP as DC_NSMAP, T, XSI, dc_fields, dc_terms, dc_xml
from archiver.metadata.mets import M, NSMAP as METS_NSMAP, XLINK, mets_document
from archiver.metadata.premis import premis_document, premis_tree, serialize
from archiver.metadata.provenance import SOFTWARE
from archiver.model import Agent, Attachment, Comment, Event, FileRecord, Report, SourceFile

# what escaping and refusing are about: markup, quotes, whitespace XML rewrites, non-ASCII
# in every UTF-8 length, and the edges of what XML can hold
PIECES = ["&", "<", ">", '"', "'", "\t", "\n", "\r", "\r\n", " ", "  ", "]]>", "&amp;", "%20", "%",
          "é", "ü", "\u00a0", "\u2028", "\u0645\u0631\u062d\u0628\u0627", "日本", "😀", "\U0010ffff",
          "\ud7ff", "\ue000", "\ufffd", "#", "/", "a", "Z", "0", "=", "?", ";"]
REFUSED = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f", "\ufffe", "\uffff", "\ud800"]


def _strings(rng: random.Random, n: int) -> list[str]:
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 8))) for _ in range(n)]


def _reference_dc(report: Report, package_id: str, withhold: bool) -> etree._Element:
    """The record's terms (dc_fields) as the lxml tree archiver serialized before."""
    root = etree.Element("qualifieddc", nsmap=DC_NSMAP)
    for name, value, xsi_type, lang in dc_fields(report, package_id, withhold):
        el = etree.SubElement(root, T + name)
        el.text = value
        if xsi_type:
            el.set(f"{{{XSI}}}type", f"dcterms:{xsi_type}")
        if lang:
            el.set("{http://www.w3.org/XML/1998/namespace}lang", lang)
    etree.indent(root, space="  ")
    return root


def _href(path):
    return {"LOCTYPE": "OTHER", "OTHERLOCTYPE": "SYSTEM", f"{{{XLINK}}}type": "simple",
            f"{{{XLINK}}}href": quote(path, safe="/")}


def _reference_mets(package_id, title, dc_bytes, files, created, software) -> bytes:
    attrs = {"OBJID": package_id, "TYPE": "report", "PROFILE": "archiver report package"}
    if title:
        attrs["LABEL"] = title[:250]
    root = etree.Element(M + "mets", attrs, nsmap=METS_NSMAP)
    header = etree.SubElement(root, M + "metsHdr", CREATEDATE=created)
    agent = etree.SubElement(header, M + "agent", ROLE="CREATOR", TYPE="OTHER", OTHERTYPE="SOFTWARE")
    etree.SubElement(agent, M + "name").text = software
    dmd = etree.SubElement(root, M + "dmdSec", ID="dmd-dc")
    wrap = etree.SubElement(dmd, M + "mdWrap", MDTYPE="DC", MIMETYPE="text/xml", LABEL="metadata/dc.xml")
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True, huge_tree=True)
    etree.SubElement(wrap, M + "xmlData").append(etree.fromstring(dc_bytes, parser))
    amd = etree.SubElement(root, M + "amdSec", ID="amd-premis")
    digiprov = etree.SubElement(amd, M + "digiprovMD", ID="digiprov-premis")
    etree.SubElement(digiprov, M + "mdRef", MDTYPE="PREMIS", MIMETYPE="text/xml",
                     LABEL="metadata/premis.xml", **_href("premis.xml"))
    group = etree.SubElement(etree.SubElement(root, M + "fileSec"), M + "fileGrp", USE="original")
    div = etree.SubElement(etree.SubElement(root, M + "structMap", TYPE="physical"), M + "div",
                           TYPE="report", DMDID="dmd-dc", ADMID="amd-premis")
    if title:
        div.set("LABEL", title[:250])
    for number, record in enumerate(files, 1):
        file_id = f"file-{number}"
        attrs = {"ID": file_id, "MIMETYPE": record.media_type, "SIZE": str(record.size)}
        if "sha256" in record.digests:
            attrs.update(CHECKSUM=record.digests["sha256"], CHECKSUMTYPE="SHA-256")
        entry = etree.SubElement(group, M + "file", attrs)
        etree.SubElement(entry, M + "FLocat", **_href(f"../{record.path}"))
        etree.SubElement(div, M + "fptr", FILEID=file_id)
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _report(rng: random.Random, s: list[str]) -> Report:
    pick = lambda: rng.choice(s + [None, ""])  # noqa: E731
    return Report(
        title=rng.choice(s), subtitle=pick(), body=[x for x in s[:rng.randint(0, 2)]],
        language=rng.choice([None, "en", "fr", s[0]]), publisher=pick(), issued=pick(),
        creator=s[:rng.randint(0, 2)], subjects=s[2:rng.randint(2, 4)], places=s[4:rng.randint(4, 5)],
        source_url=pick(), rights=pick(), description=pick(),
        comments=[Comment(n, pick(), None, "x") for n in range(1, rng.randint(1, 3))],
        attachments=[Attachment("data/a", 1, rng.choice(["image/png", "video/mp4", "audio/ogg", "text/x"]))
                     for _ in range(rng.randint(0, 2))],
        source=SourceFile(name="r.txt", size=rng.randint(0, 10**9), media_type=rng.choice(s + ["text/plain"]),
                          encoding="utf-8"))


def _records(rng: random.Random, s: list[str]) -> list[FileRecord]:
    algs = [("sha256", "sha512"), ("md5",), ("sha1", "blake2b", "sha256")]
    return [FileRecord(path=f"data/{rng.choice(s)}", size=rng.randint(0, 10**12),
                       digests={a: rng.choice(s) for a in rng.choice(algs)}, media_type=rng.choice(s),
                       original_name=rng.choice(s), pronom=rng.choice([None, "", "fmt/1", rng.choice(s)]))
            for _ in range(rng.randint(0, 3))]


def _events(rng: random.Random, s: list[str]) -> list[Event]:
    pick = lambda: rng.choice(s + [None, ""])  # noqa: E731
    return [Event(identifier=rng.choice(s), type=rng.choice(["cap", "mes", "for", "mee", "cre", "val"]),
                  date_time=rng.choice(s + [None]), outcome=rng.choice(s + ["success", ""]), detail=pick(),
                  outcome_detail=pick(),
                  agents=tuple((rng.choice(s), rng.choice(["executing program", "implementer", s[0], None]))
                               for _ in range(rng.randint(0, 2))),
                  objects=tuple(rng.choice(s) for _ in range(rng.randint(0, 2))))
            for _ in range(rng.randint(0, 3))]


def _agents(rng: random.Random, s: list[str]) -> list[Agent]:
    return [SOFTWARE] + [Agent(identifier=rng.choice(s), name=rng.choice(s + [""]),
                               type=rng.choice(["software", "person", "organization"]),
                               version=rng.choice([None, "", rng.choice(s)]))
                         for _ in range(rng.randint(0, 2))]


@pytest.mark.parametrize("seed", range(300))
def test_written_as_lxml_writes_them(seed):
    rng = random.Random(seed)
    s = _strings(rng, 12)
    report, package_id, withhold = _report(rng, s), f"rpt-{rng.choice(s)}", rng.random() < 0.5
    terms = dc_terms(report, package_id, withhold)
    dc_bytes = dc_xml(terms)
    reference = _reference_dc(report, package_id, withhold)
    assert dc_bytes == etree.tostring(reference, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    files, title, created = _records(rng, s), rng.choice(s + [None, ""]), rng.choice(s)
    software = rng.choice(s)
    assert (mets_document(package_id, title, terms, files, created, software)
            == _reference_mets(package_id, title, dc_bytes, files, created, software))

    events, agents, originator = _events(rng, s), _agents(rng, s), rng.choice(s)
    assert (premis_document(files, events, agents, originator)
            == serialize(premis_tree(files, events, agents, originator)))


def test_an_empty_premis_document():
    assert premis_document([], [], [], "x") == serialize(premis_tree([], [], [], "x"))


@pytest.mark.parametrize("bad", REFUSED)
def test_what_xml_cannot_hold_is_refused_as_lxml_refuses_it(bad):
    with pytest.raises(ValueError) as ours:
        xmlwrite.text(f"a{bad}b")
    with pytest.raises(ValueError) as theirs:
        etree.Element("x").text = f"a{bad}b"
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError):
        xmlwrite.attr(f"a{bad}b")
    with pytest.raises(ValueError):
        premis_document([FileRecord(path=f"data/{bad}", size=1, digests={"sha256": "0"},
                                    media_type="text/plain", original_name="n")], [], [], "x")


def test_every_character_is_escaped_as_libxml2_does():
    for cp in [*range(0x20, 0x80), 0x09, 0x0A, 0x0D, 0xA0, 0x2028, 0xFFFD, 0x1F600]:
        c = chr(cp)
        el = etree.Element("r", x=f"a{c}b")
        el.text = f"a{c}b"
        assert etree.tostring(el, encoding="UTF-8").decode() == (
            f'<r x="{xmlwrite.attr(f"a{c}b")}">{xmlwrite.text(f"a{c}b")}</r>')
