"""The unpacked language model is cached in the user's cache directory, and any trouble
with the cache only costs the time of unpacking the model again."""
import numpy as np

from archiver.extract import language

ARABIC = "تقرير من الرقة: أغلق التنظيم مقاهي الإنترنت في المدينة وريفها"


def load():
    return language._identifier.__wrapped__()  # past the in-process memo


def test_model_is_cached_and_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = load()
    (cached,) = (tmp_path / "archiver").glob("langid-*.arrays")
    assert cached.stat().st_size > 1_000_000
    again = load()
    assert again is not first
    assert again.classify(ARABIC)[0] == first.classify(ARABIC)[0] == "ar"


def test_damaged_cache_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    load()
    (cached,) = (tmp_path / "archiver").glob("langid-*.arrays")
    cached.write_bytes(b"not a model")
    assert load().classify(ARABIC)[0] == "ar"
    assert cached.stat().st_size > 1_000_000  # unpacked again and stored again


def test_unwritable_cache_directory_is_no_obstacle(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache directory would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert load().classify(ARABIC)[0] == "ar"


def test_cache_cut_short_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    load()
    (cached,) = (tmp_path / "archiver").glob("langid-*.arrays")
    size = cached.stat().st_size
    with open(cached, "r+b") as f:
        f.truncate(size - 4096)
    assert load().classify(ARABIC)[0] == "ar"
    assert cached.stat().st_size == size


def test_mapped_model_scores_as_the_unpacked_one(tmp_path, monkeypatch):
    """The cache holds the model's very values: every score is the same, bit for bit."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from seeds import EXAMPLES

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    load()
    mapped = load()
    assert isinstance(mapped.tk_nextmove, memoryview)  # read from the cache, not unpacked
    unpacked = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    texts = [ARABIC, "Les habitants ont signalé des coupures d'eau et d'électricité.",
             "日本語のテキストです。", "Ein Bericht aus der Stadt über die Wasserversorgung.", "x" * 40]
    texts += [p.read_text(encoding="utf-8")[i:i + 500] for p in sorted(EXAMPLES.glob("*.txt"))
              for i in range(0, 2000, 250)]
    for text in texts:
        assert np.array_equal(mapped._decide(text), unpacked._decide(text))
        assert mapped.classify(text) == unpacked.classify(text)
