"""Extraction from the seed reports, and from the same text in other encodings."""
import pytest

from archiver.extract import extract_text
from archiver.problems import ArchiverError

from seeds import SEED_000, SEED_002, SEED_003


def test_seed_000_title_kicker_comments():
    r = extract_text(SEED_000.read_bytes(), SEED_000.name)
    assert r.title == "ISIS, trying to separate the city of Raqqa from the world"
    assert r.subtitle == "Exclusive \u2013 Raqqa is being slaughtered silently"
    assert len(r.body) == 5
    assert r.body[0].startswith("ISIS announced last Wednesday")
    assert r.body[-1].startswith("Abo Alaa a civilian from Raqqa")
    assert r.author_note.startswith("media activist from the city of Raqqa")
    assert not any("media activist" in p for p in r.body)
    assert [c.author for c in r.comments] == ["Edwin", "Brandi Taylor", None, None]
    assert [c.number for c in r.comments] == [1, 2, 3, 4]
    assert [c.published for c in r.comments] == [
        "2015-11-20T23:03", "2015-11-21T13:27", "2015-11-24T22:16", "2015-12-02T19:52"]
    assert r.comments[0].text == "Much thank you for real news of Raqqa!"
    assert r.comments[3].text.startswith("I\u2019m asking my self")
    assert r.comments_closed is True
    assert r.language == "en"
    assert r.source.encoding == "UTF-8"
    assert r.source.size == SEED_000.stat().st_size


@pytest.mark.parametrize("seed, title, paragraphs", [
    (SEED_002, "Raqqa, the so-called (War of Liberation)", 6),
    (SEED_003, "The beginning of expulsion ISIS out of Raqqa, several massacres against civilians", 5),
])
def test_seeds_without_comments(seed, title, paragraphs):
    r = extract_text(seed.read_bytes(), seed.name)
    assert r.title == title
    assert r.subtitle is None
    assert len(r.body) == paragraphs
    assert r.author_note.startswith("media activist")
    assert r.comments == [] and r.comments_closed is False


@pytest.mark.parametrize("encode, label", [
    (lambda t: t.encode("utf-16"), "UTF-16"),
    (lambda t: t.encode("utf-16-le"), "UTF-16-LE"),
    (lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"), "UTF-8"),
    (lambda t: t.replace("\n", "\r\n").encode("cp1252"), "cp1252"),
])
def test_encodings_give_the_same_extraction(encode, label):
    text = SEED_000.read_text(encoding="utf-8")
    reference = extract_text(SEED_000.read_bytes(), "a.txt")
    r = extract_text(encode(text), "a.txt")
    assert r.source.encoding == label
    assert r.title == reference.title and r.subtitle == reference.subtitle
    assert r.body == reference.body and r.comments == reference.comments


def test_arabic_report():
    text = "تقرير من الرقة\n\nقصفت الطائرات المدينة الليلة الماضية وقتل عدد من المدنيين في الأحياء الشمالية.\n"
    r = extract_text(text.encode("utf-8"), "ar.txt")
    assert r.title == "تقرير من الرقة" and r.language == "ar"
    r = extract_text(text.encode("cp1256"), "ar.txt")
    assert r.title == "تقرير من الرقة"
    for codec in ("utf-16-le", "utf-16-be"):  # saved without a BOM: few NULs, where UTF-16 has them
        r = extract_text(text.encode(codec), "ar.txt")
        assert (r.title, r.language, r.source.encoding) == ("تقرير من الرقة", "ar", codec.upper())
    russian = "Отчёт из Ракки\n\nНочью самолёты бомбили город, погибли мирные жители северных кварталов.\n"
    r = extract_text(russian.encode("utf-16-be"), "ru.txt")
    assert (r.title, r.language, r.source.encoding) == ("Отчёт из Ракки", "ru", "UTF-16-BE")


@pytest.mark.parametrize("data, code", [
    (b"", "INPUT-EMPTY"), (b"  \n\n", "INPUT-EMPTY"),
    (bytes(range(256)) * 8, "INPUT-BINARY"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20, "INPUT-BINARY"),
])
def test_bad_input_is_refused(data, code):
    with pytest.raises(ArchiverError) as err:
        extract_text(data, "bad.txt")
    assert err.value.code == code and err.value.path == "bad.txt"
