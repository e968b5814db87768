"""A METS 1.12 document for the package (metadata/mets.xml), for repositories that ingest METS.

It ties the package together the way Archivematica's AIP METS does: the Dublin Core record as
descriptive metadata (a dmdSec, embedded), PREMIS as digital provenance (an amdSec pointing at
premis.xml, which grows with each validation or deposit, so it is referenced, not copied), and
every payload file in a fileSec with its size, SHA-256 and location, under one structMap.
Locations are relative to mets.xml itself (`../data/...`). Nothing here changes after the
build, so the document stays true as PREMIS grows.
"""
from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from lxml import etree

from archiver.model import FileRecord

METS = "http://www.loc.gov/METS/"
XLINK = "http://www.w3.org/1999/xlink"
NSMAP = {"mets": METS, "xlink": XLINK}
M = f"{{{METS}}}"


def _href(path: str) -> dict[str, str]:
    # a URI reference: spaces, '%' and non-ASCII names are percent-encoded
    return {"LOCTYPE": "OTHER", "OTHERLOCTYPE": "SYSTEM", f"{{{XLINK}}}type": "simple",
            f"{{{XLINK}}}href": quote(path, safe="/")}


def mets_document(package_id: str, title: str | None, dc_xml: bytes, files: Iterable[FileRecord],
                  created: str, software: str) -> bytes:
    """METS for the package: `dc_xml` is metadata/dc.xml as written, `files` the payload."""
    attrs = {"OBJID": package_id, "TYPE": "report", "PROFILE": "archiver report package"}
    if title:
        attrs["LABEL"] = title[:250]
    root = etree.Element(M + "mets", attrs, nsmap=NSMAP)
    header = etree.SubElement(root, M + "metsHdr", CREATEDATE=created)
    agent = etree.SubElement(header, M + "agent", ROLE="CREATOR", TYPE="OTHER", OTHERTYPE="SOFTWARE")
    etree.SubElement(agent, M + "name").text = software

    dmd = etree.SubElement(root, M + "dmdSec", ID="dmd-dc")
    wrap = etree.SubElement(dmd, M + "mdWrap", MDTYPE="DC", MIMETYPE="text/xml",
                            LABEL="metadata/dc.xml")
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True,
                             huge_tree=True)  # dc.xml as just written: a 10 MB title is allowed
    etree.SubElement(wrap, M + "xmlData").append(etree.fromstring(dc_xml, parser))

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
