"""Reading a package's XML, which is untrusted input: no DTD, no entities, no network."""
from __future__ import annotations

from lxml import etree

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_untrusted(document: bytes) -> etree._Element:
    """The document's root element. Raises etree.XMLSyntaxError when it is not well-formed
    or declares a DOCTYPE (archiver's metadata has none, and an entity could stand for
    anything)."""
    root = etree.fromstring(document, _PARSER)
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise etree.XMLSyntaxError("declares a DOCTYPE", None, 0, 0)
    return root
