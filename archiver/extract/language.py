"""Language detection with py3langid (light, deterministic)."""
from __future__ import annotations

import os
import tempfile
from functools import cache
from pathlib import Path

from archiver.config import cache_dir

MIN_CHARS = 20
# Classifying costs time in proportion to the text; a report's first 500 characters tell
# its language as surely as the whole (the seeds: English at 0.99997 from 500 characters,
# 1.0 from 4 KB) in a seventh of the time (0.23 ms, against 1.6 ms for 4 KB).
SAMPLE_CHARS = 500


@cache
def _identifier():
    """py3langid's model. Unpacking it from its xz file takes about 0.9 s on every run, so
    its arrays are kept unpacked in the user's cache directory (about 97 MB), named for the
    model file they came from, and mapped into memory from there: a few milliseconds, and
    every process shares the same pages (unpickling them cost 70-90 ms and a private copy).
    Any trouble with the cache and the model is unpacked again. The cache is archiver's own
    file in the user's own directory, named for the model's content (a reinstall of the same
    py3langid finds it), and storing one removes those of other models."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    cached = _cache_file(Path(MODEL_DIR) / MODEL_FILE)
    if cached is not None and cached.is_file():
        try:
            return _mapped(cached, LanguageIdentifier)
        except Exception:  # damaged, cut short or from another py3langid: unpack it again
            pass
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if cached is not None:
        try:
            _store(cached, identifier)
        except OSError:  # a read-only or full home: work without the cache
            pass
    return identifier


MAGIC = b"archiver-langid-2\n"
ALIGN = 64
# the model's parts: numpy arrays (the class weights) and arrays of integers (the DFA)
_NUMPY, _INTS = ("nb_ptc", "nb_pc"), (("tk_nextmove", "I"), ("tk_output", "i"), ("tk_row", "H"))


def _cache_file(model: Path) -> Path | None:
    """Named for the model file's SHA-256 (4.5 MB, ~3 ms): named for its size and time, as
    before, every new environment left 97 MB more behind."""
    import hashlib

    try:
        with open(model, "rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None
    return cache_dir() / f"{CACHE_PREFIX}{digest[:32]}.arrays"


CACHE_PREFIX = "langid-2-"
STALE_TEMPORARY = 3600  # seconds: a store takes well under one, so an older one was killed


def _remove_stale(kept: Path) -> None:
    """Other models' caches (and the older formats': langid-*.pickle) and the temporaries of
    killed stores: archiver's own files in its own cache directory, never read again."""
    import time

    for entry in kept.parent.iterdir():
        name = entry.name
        try:
            if name.startswith("langid-") and entry != kept:
                entry.unlink()
            elif name.startswith(f".{CACHE_PREFIX}") and time.time() - entry.stat().st_mtime > STALE_TEMPORARY:
                entry.unlink()
        except OSError:  # gone already (another build), or not ours to remove: no matter
            pass


def _store(path: Path, identifier) -> None:
    """The arrays one after the other (64-byte aligned) after a JSON header saying where."""
    import array
    import json

    import numpy as np

    parts, entries, offset = [], [], 0
    for name in _NUMPY:
        data = np.ascontiguousarray(getattr(identifier, name))
        if data.dtype == np.float16:
            # float32 in the cache: every float16 is exactly a float32, and numpy casts the
            # weights to float32 for each classification anyway (a fifth of its time)
            data = data.astype(np.float32)
        entries.append({"name": name, "dtype": data.dtype.str, "shape": list(data.shape)})
        parts.append(data.tobytes())
    for name, typecode in _INTS:
        data = array.array(typecode, getattr(identifier, name))
        entries.append({"name": name, "typecode": typecode, "count": len(data)})
        parts.append(data.tobytes())
    for entry, part in zip(entries, parts):
        entry["offset"], entry["bytes"] = offset, len(part)
        offset += -(-len(part) // ALIGN) * ALIGN
    header = json.dumps({"classes": list(identifier.nb_classes), "arrays": entries,
                         "size": offset}).encode("utf-8")
    start = -(-(len(MAGIC) + 8 + len(header)) // ALIGN) * ALIGN
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + len(header).to_bytes(8, "little") + header)
            for entry, part in zip(entries, parts):
                f.seek(start + entry["offset"])
                f.write(part)
            f.truncate(start + offset)
        os.replace(tmp, path)  # whole or not at all, even with builds running side by side
    finally:
        Path(tmp).unlink(missing_ok=True)
    _remove_stale(path)


def _mapped(path: Path, identifier_class):
    """The identifier over the cache file's arrays, mapped read-only (the same values as the
    unpacked model, the weights widened exactly to float32: the same scores bit for bit,
    tests/extract/test_language_cache.py)."""
    import json
    import mmap

    import numpy as np

    with open(path, "rb") as f:
        memory = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    if memory[:len(MAGIC)] != MAGIC:
        raise ValueError("not archiver's language model cache")
    length = int.from_bytes(memory[len(MAGIC):len(MAGIC) + 8], "little")
    header = json.loads(memory[len(MAGIC) + 8:len(MAGIC) + 8 + length])
    start = -(-(len(MAGIC) + 8 + length) // ALIGN) * ALIGN
    if len(memory) != start + header["size"]:
        raise ValueError("language model cache cut short")
    view, parts = memoryview(memory), {}
    for entry in header["arrays"]:
        at = start + entry["offset"]
        if "dtype" in entry:
            count = int(np.prod(entry["shape"]))
            parts[entry["name"]] = np.frombuffer(memory, entry["dtype"], count, at).reshape(entry["shape"])
        else:
            parts[entry["name"]] = view[at:at + entry["bytes"]].cast(entry["typecode"])
    # the DFA's outputs as a list: read at every byte, where a memoryview item costs more
    return identifier_class(parts["nb_ptc"], parts["nb_pc"], header["classes"], parts["tk_nextmove"],
                            parts["tk_output"].tolist(), norm_probs=True, tk_row=parts["tk_row"])


def detect_language(text: str) -> str | None:
    """ISO 639-1 code, or None for text too short or too uncertain to tell."""
    text = text.strip()
    if len(text) < MIN_CHARS:
        return None
    language, probability = _identifier().classify(text[:SAMPLE_CHARS])
    return language if probability >= 0.5 else None


def preload() -> None:
    """Load the model now, e.g. once before forking workers that share it."""
    _identifier()
