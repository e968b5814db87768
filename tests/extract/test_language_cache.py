"""The unpacked language model is cached in the user's cache directory, and any trouble
with the cache only costs the time of unpacking the model again."""
from archiver.extract import language

ARABIC = "تقرير من الرقة: أغلق التنظيم مقاهي الإنترنت في المدينة وريفها"


def load():
    return language._identifier.__wrapped__()  # past the in-process memo


def test_model_is_cached_and_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = load()
    (cached,) = (tmp_path / "archiver").glob("langid-*.pickle")
    assert cached.stat().st_size > 1_000_000
    again = load()
    assert again is not first
    assert again.classify(ARABIC)[0] == first.classify(ARABIC)[0] == "ar"


def test_damaged_cache_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    load()
    (cached,) = (tmp_path / "archiver").glob("langid-*.pickle")
    cached.write_bytes(b"not a pickle")
    assert load().classify(ARABIC)[0] == "ar"
    assert cached.stat().st_size > 1_000_000  # unpacked again and stored again


def test_unwritable_cache_directory_is_no_obstacle(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache directory would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert load().classify(ARABIC)[0] == "ar"
