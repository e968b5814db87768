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

from archiver.metadata import xmlwrite
from archiver.metadata.dc import ROOT as DC_ROOT
from archiver.metadata.xmlwrite import leaf
from archiver.model import FileRecord

METS = "http://www.loc.gov/METS/"
XLINK = "http://www.w3.org/1999/xlink"
NSMAP = {"mets": METS, "xlink": XLINK}
M = f"{{{METS}}}"


def _href(path: str) -> str:
    # a URI reference: spaces, '%' and non-ASCII names are percent-encoded
    return (' LOCTYPE="OTHER" OTHERLOCTYPE="SYSTEM" xlink:type="simple" '
            f'xlink:href="{xmlwrite.attr(quote(path, safe="/"))}"')


def mets_document(package_id: str, title: str | None, dc: list[str], files: Iterable[FileRecord],
                  created: str, software: str) -> bytes:
    """METS for the package: `dc` is the Dublin Core record as dc.xml holds it (dc_terms),
    `files` the payload. Written as text: the same bytes as the lxml tree this module made
    before, indented by etree.indent (tests/metadata/test_xmlwrite.py)."""
    label = f' LABEL="{xmlwrite.attr(title[:250])}"' if title else ""
    out = [f'<mets:mets xmlns:mets="{METS}" xmlns:xlink="{XLINK}" OBJID="{xmlwrite.attr(package_id)}" '
           f'TYPE="report" PROFILE="archiver report package"{label}>\n',
           f'  <mets:metsHdr CREATEDATE="{xmlwrite.attr(created)}">\n'
           '    <mets:agent ROLE="CREATOR" TYPE="OTHER" OTHERTYPE="SOFTWARE">\n',
           leaf("      ", "mets:name", software),
           '    </mets:agent>\n  </mets:metsHdr>\n  <mets:dmdSec ID="dmd-dc">\n'
           '    <mets:mdWrap MDTYPE="DC" MIMETYPE="text/xml" LABEL="metadata/dc.xml">\n'
           '      <mets:xmlData>\n']
    if dc:
        out.append(f"        {DC_ROOT}\n")
        out.extend(f"          {term}\n" for term in dc)
        out.append("        </qualifieddc>\n")
    else:
        out.append(f"        {DC_ROOT[:-1]}/>\n")
    out.append('      </mets:xmlData>\n    </mets:mdWrap>\n  </mets:dmdSec>\n'
               '  <mets:amdSec ID="amd-premis">\n    <mets:digiprovMD ID="digiprov-premis">\n'
               '      <mets:mdRef MDTYPE="PREMIS" MIMETYPE="text/xml" LABEL="metadata/premis.xml"'
               f'{_href("premis.xml")}/>\n    </mets:digiprovMD>\n  </mets:amdSec>\n')
    entries, pointers = [], []
    for number, record in enumerate(files, 1):
        checksum = (f' CHECKSUM="{xmlwrite.attr(record.digests["sha256"])}" CHECKSUMTYPE="SHA-256"'
                    if "sha256" in record.digests else "")
        entries.append(f'      <mets:file ID="file-{number}" MIMETYPE="{xmlwrite.attr(record.media_type)}" '
                       f'SIZE="{record.size}"{checksum}>\n'
                       f'        <mets:FLocat{_href(f"../{record.path}")}/>\n      </mets:file>\n')
        pointers.append(f'      <mets:fptr FILEID="file-{number}"/>\n')
    div = f'<mets:div TYPE="report" DMDID="dmd-dc" ADMID="amd-premis"{label}'
    if entries:
        out.append('  <mets:fileSec>\n    <mets:fileGrp USE="original">\n')
        out.extend(entries)
        out.append('    </mets:fileGrp>\n  </mets:fileSec>\n  <mets:structMap TYPE="physical">\n'
                   f'    {div}>\n')
        out.extend(pointers)
        out.append("    </mets:div>\n  </mets:structMap>\n")
    else:
        out.append('  <mets:fileSec>\n    <mets:fileGrp USE="original"/>\n  </mets:fileSec>\n'
                   f'  <mets:structMap TYPE="physical">\n    {div}/>\n  </mets:structMap>\n')
    out.append("</mets:mets>\n")
    return (xmlwrite.DECLARATION + "".join(out)).encode("utf-8")
