"""The Dublin Core record of a report (DCMI Metadata Terms).

Written as text (archiver.metadata.xmlwrite), byte for byte what lxml serialized before. The
root is the `qualifieddc` container of the DCMI schemas (type
dcterms:elementOrRefinementContainer), so the record validates against the official
DCMI 2008 XSDs as it stands. Reader comments are parts of the report (dcterms:hasPart);
commenters' names are personal data, stated in dcterms:accessRights.
"""
from __future__ import annotations

from lxml import etree

from archiver.metadata import xmlwrite
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


def dc_fields(report: Report, package_id: str, withhold_names: bool = False
              ) -> list[tuple[str, str, str | None, str | None]]:
    """The record's terms in order: (dcterms name, value, xsi:type or None, xml:lang or None);
    a term with no value is left out."""
    fields: list[tuple[str, str, str | None, str | None]] = []
    lang = report.language or None

    def term(name: str, value: str | None, xsi_type: str | None = None, lang: str | None = None) -> None:
        if value:
            fields.append((name, value, xsi_type, lang))

    term("title", report.title, lang=lang)
    term("alternative", report.subtitle, lang=lang)
    for creator in report.creator:
        term("creator", creator)
    term("publisher", report.publisher)
    term("issued", report.issued, "W3CDTF")
    term("language", report.language, "RFC4646")
    term("type", "Text", "DCMIType")
    for kind in sorted({DCMI_TYPES[a.media_type.split("/")[0]] for a in report.attachments
                        if a.media_type.split("/")[0] in DCMI_TYPES}):
        term("type", kind, "DCMIType")
    term("format", report.source.media_type, "IMT")
    term("extent", f"{report.source.size} bytes")
    term("description", report.description or (report.body[0] if report.body else None), lang=lang)
    for subject in report.subjects:
        term("subject", subject)
    for place in report.places:
        term("spatial", place)
    term("source", report.source_url, "URI")
    term("identifier", package_id)
    term("rights", report.rights)
    for comment in report.comments:
        term("hasPart", f"{package_id}#comment-{comment.number}")
    if report.comments:
        term("accessRights", WITHHELD_NOTE if withhold_names else PERSONAL_DATA_NOTE)
    return fields


def dc_terms(report: Report, package_id: str, withhold_names: bool = False) -> list[str]:
    """The record's elements, each as one line of XML text without indentation: dc.xml holds
    them, and METS embeds the same record (archiver.metadata.mets)."""
    terms = []
    for name, value, xsi_type, lang in dc_fields(report, package_id, withhold_names):
        typed = f' xsi:type="dcterms:{xmlwrite.attr(xsi_type)}"' if xsi_type else ""
        langed = f' xml:lang="{xmlwrite.attr(lang)}"' if lang else ""
        terms.append(f"<dcterms:{name}{typed}{langed}>{xmlwrite.text(value)}</dcterms:{name}>")
    return terms


ROOT = f'<qualifieddc xmlns:dc="{DC}" xmlns:dcterms="{DCTERMS}" xmlns:xsi="{XSI}">'


def dc_xml(terms: list[str]) -> bytes:
    """metadata/dc.xml from dc_terms: the same bytes lxml's pretty_print gives for the record
    (tests/metadata/test_xmlwrite.py), written as text."""
    return xmlwrite.document(ROOT, "qualifieddc", [f"  {t}\n" for t in terms])


def read_dc(root: etree._Element) -> list[tuple[str, str, str | None]]:
    """(term, value, language) for each DC element of a record, in document order; `term`
    is the element's local name (title, issued, hasPart...)."""
    out = []
    for el in root:
        if isinstance(el.tag, str) and el.tag.startswith((T, f"{{{DC}}}")) and el.text:
            out.append((etree.QName(el).localname, el.text.strip(),
                        el.get("{http://www.w3.org/XML/1998/namespace}lang")))
    return out
