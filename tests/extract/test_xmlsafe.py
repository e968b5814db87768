"""Values XML cannot carry are cleaned before any metadata is written."""
from lxml import etree

from archiver.extract.xmlsafe import xml_safe
from archiver.model import Comment, Report, SourceFile


def _report(**values):
    return Report(source=SourceFile(name="r.txt", size=10, media_type="text/plain", encoding="UTF-8"),
                  **values)


def test_every_value_is_cleaned_and_counted():
    r = _report(title="A\x0cB", body=["one\x00two", "fine"], subjects=["x\x1fy"],
                comments=[Comment(number=1, author="Ann\x07", published=None, text="t\ufffe")],
                provenance={"title": "extracted"})
    c = xml_safe(r)
    assert c.title == "A B" and c.body == ["onetwo", "fine"] and c.subjects == ["xy"]
    assert c.comments[0].author == "Ann" and c.comments[0].text == "t"
    assert c.warnings == [w for w in c.warnings if w.startswith("5 control character(s)")]
    for value in (c.title, *c.body, *c.subjects, c.comments[0].author, c.comments[0].text):
        etree.SubElement(etree.Element("x"), "y").text = value  # lxml refuses what XML cannot carry


def test_lone_surrogates_are_left_out():
    c = xml_safe(_report(title="bad \udc80 byte"))
    assert c.title == "bad  byte" and len(c.warnings) == 1


def test_clean_report_is_returned_unchanged():
    r = _report(title="Tabs\tand\r\nnewlines are fine", body=["é ü — 中文"])
    assert xml_safe(r) is r
