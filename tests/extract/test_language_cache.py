"""The unpacked language model is cached in the user's cache directory, and any trouble
with the cache only costs the time of unpacking the model again."""
from pathlib import Path

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


def test_cache_is_named_for_the_model_and_stale_ones_go(tmp_path, monkeypatch):
    """A reinstall of the same model (a new file time) finds the cache; storing a cache
    removes other models' caches, older formats' and killed stores' temporaries."""
    import os
    import time

    from py3langid.langid import MODEL_DIR, MODEL_FILE

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = tmp_path / "archiver"
    folder.mkdir()
    stale = [folder / "langid-4586720-1796112265967707138.pickle",
             folder / "langid-2-4586720-1796130462025167128.arrays",
             folder / ".langid-2-0123.arrays.k1ll3d"]
    for path in stale:
        path.write_bytes(b"left behind")
    hour_ago = time.time() - 2 * language.STALE_TEMPORARY
    os.utime(stale[-1], (hour_ago, hour_ago))
    fresh = folder / ".langid-2-0123.arrays.st0r1ng"  # a store under way right now
    fresh.write_bytes(b"being written")
    other = folder / "notes.txt"
    other.write_text("not archiver's language cache")
    load()
    (cached,) = folder.glob("langid-*")
    assert not any(p.exists() for p in stale) and fresh.exists() and other.exists()

    copy = tmp_path / "model-reinstalled" / MODEL_FILE
    copy.parent.mkdir(parents=True)
    copy.write_bytes((Path(MODEL_DIR) / MODEL_FILE).read_bytes())
    os.utime(copy, (hour_ago, hour_ago))
    assert language._cache_file(copy) == cached
