"""The Dublin Core record of a report (DCMI Metadata Terms), written with lxml.

The root is the `qualifieddc` container of the DCMI schemas (type
dcterms:elementOrRefinementContainer), so the record validates against the official
DCMI 2008 XSDs as it stands. Reader comments are parts of the report (dcterms:hasPart);
commenters' names are personal data, stated in dcterms:accessRights.
"""
from __future__ import annotations

from lxml import etree

from archiver.model import Report

DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {"dc": DC, "dcterms": DCTERMS, "xsi": XSI}
T = f"{{{DCTERMS}}}"

# attachments (photos, video, recordings) make the report these DCMI types as well
DCMI_TYPES = {"image": "StillImage", "video": "MovingImage", "audio": "Sound"}

PERSONAL_DATA_NOTE = ("Reader comments name their authors: personal data, to be shown only "
                      "where the contributors' consent or the law allows.")
WITHHELD_NOTE = ("Commenters' names are withheld from this record; they remain in the "
                 "preserved original.")


def _term(root: etree._Element, name: str, value: str | None, xsi_type: str | None = None,
          lang: str | None = None) -> None:
    if not value:
        return
    el = etree.SubElement(root, T + name)
    el.text = value
    if xsi_type:
        el.set(f"{{{XSI}}}type", f"dcterms:{xsi_type}")
    if lang:
        el.set("{http://www.w3.org/XML/1998/namespace}lang", lang)


def dc_document(report: Report, package_id: str, withhold_names: bool = False) -> bytes:
    root = etree.Element("qualifieddc", nsmap=NSMAP)
    lang = report.language
    _term(root, "title", report.title, lang=lang)
    _term(root, "alternative", report.subtitle, lang=lang)
    for creator in report.creator:
        _term(root, "creator", creator)
    _term(root, "publisher", report.publisher)
    _term(root, "issued", report.issued, "W3CDTF")
    _term(root, "language", report.language, "RFC4646")
    _term(root, "type", "Text", "DCMIType")
    for kind in sorted({DCMI_TYPES[a.media_type.split("/")[0]] for a in report.attachments
                        if a.media_type.split("/")[0] in DCMI_TYPES}):
        _term(root, "type", kind, "DCMIType")
    _term(root, "format", report.source.media_type, "IMT")
    _term(root, "extent", f"{report.source.size} bytes")
    _term(root, "description", report.description or (report.body[0] if report.body else None),
          lang=lang)
    for subject in report.subjects:
        _term(root, "subject", subject)
    for place in report.places:
        _term(root, "spatial", place)
    _term(root, "source", report.source_url, "URI")
    _term(root, "identifier", package_id)
    _term(root, "rights", report.rights)
    for comment in report.comments:
        _term(root, "hasPart", f"{package_id}#comment-{comment.number}")
    if report.comments:
        _term(root, "accessRights", WITHHELD_NOTE if withhold_names else PERSONAL_DATA_NOTE)
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)



def read_dc(root: etree._Element) -> list[tuple[str, str, str | None]]:
    """(term, value, language) for each DC element of a record, in document order; `term`
    is the element's local name (title, issued, hasPart...)."""
    out = []
    for el in root:
        if isinstance(el.tag, str) and el.tag.startswith((T, f"{{{DC}}}")) and el.text:
            out.append((etree.QName(el).localname, el.text.strip(),
                        el.get("{http://www.w3.org/XML/1998/namespace}lang")))
    return out
