"""XML written as text, byte for byte what lxml writes for the same tree (UTF-8, the
declaration, pretty_print): for the documents a build writes once per package, where making an
lxml tree and serializing it costs several times more than the text itself.

The escaping is libxml2's (2.14): in text & < > and CR; in attribute values also " and TAB,
LF, CR as character references. A string XML cannot hold (a control character, a lone
surrogate, U+FFFE) raises the ValueError lxml raises. tests/metadata/test_xmlwrite.py holds
every writer here to its lxml twin on hostile strings.
"""
from __future__ import annotations

import re

DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>\n"
INVALID = ("All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control "
           "characters")  # lxml's words

# what XML 1.0 cannot hold (section 2.2), lone surrogates included; then any character that
# is escaped or refused: most values have none and are returned as they are
_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TEXT_ANY = re.compile("[\x00-\x08\x0b-\x1f&<>\ud800-\udfff\ufffe\uffff]")
_ATTR_ANY = re.compile('[\x00-\x1f&<>"\ud800-\udfff\ufffe\uffff]')


def _refuse(value: str) -> None:
    if _REFUSED.search(value):
        value.encode("utf-8")  # a lone surrogate: lxml raises the codec's UnicodeEncodeError
        raise ValueError(INVALID)


def text(value: str) -> str:
    """`value` as element content."""
    if _TEXT_ANY.search(value) is None:
        return value
    _refuse(value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def attr(value: str) -> str:
    """`value` as an attribute value (between double quotes)."""
    if _ATTR_ANY.search(value) is None:
        return value
    _refuse(value)
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\t", "&#9;").replace("\n", "&#10;")
            .replace("\r", "&#13;"))


def attrs(pairs) -> str:
    """' name="value" ...' for (name, value) pairs, in order."""
    return "".join(f' {name}="{attr(value)}"' for name, value in pairs)


def leaf(indent: str, tag: str, value: str | None, attributes: str = "") -> str:
    """One line: an element holding only text (None: an empty element), as pretty_print
    writes it."""
    if value is None:
        return f"{indent}<{tag}{attributes}/>\n"
    return f"{indent}<{tag}{attributes}>{text(value)}</{tag}>\n"


def document(root_open: str, root_tag: str, body: list[str]) -> bytes:
    """The declaration, the root element and its lines (a root without children is empty)."""
    if not body:
        return f"{DECLARATION}{root_open[:-1]}/>\n".encode("utf-8")
    return f"{DECLARATION}{root_open}\n{''.join(body)}</{root_tag}>\n".encode("utf-8")
