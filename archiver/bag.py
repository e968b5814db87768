"""Writing bags (RFC 8493, BagIt 1.0): bagit.txt, bag-info.txt, manifests, tag manifests.

Every write that changes an existing bag goes through a temporary file and a rename, so a
bag on disk is never half-rewritten.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from archiver.fixity import hash_file

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


def encode_manifest_path(path: str) -> str:
    """Percent-encode what RFC 8493 section 2.1.3 requires in manifest paths."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def decode_manifest_path(path: str) -> str:
    return path.replace("%0D", "\r").replace("%0d", "\r").replace(
        "%0A", "\n").replace("%0a", "\n").replace("%25", "%")


def write_file(path: Path, data: bytes, durable: bool = False) -> None:
    with open(path, "wb") as f:
        f.write(data)
        if durable:
            f.flush()
            os.fsync(f.fileno())


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: temp file in the same folder, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def manifest_text(entries: Iterable[tuple[str, str]]) -> bytes:
    """Manifest lines `<digest>  <path>` sorted by path, as bagit-python writes them."""
    lines = [f"{digest}  {encode_manifest_path(path)}\n" for path, digest in sorted(entries)]
    return "".join(lines).encode("utf-8")


def bag_info_text(info: Iterable[tuple[str, str]]) -> bytes:
    lines = []
    for key, value in info:
        # a value may not span lines unless continued (RFC 8493 section 2.2.2); fold newlines
        value = " ".join(str(value).split())
        lines.append(f"{key}: {value}\n")
    return "".join(lines).encode("utf-8")


def read_bag_info(bag_dir: str | os.PathLike) -> list[tuple[str, str]]:
    """Parse bag-info.txt into (label, value) pairs, joining continuation lines."""
    path = Path(bag_dir) / "bag-info.txt"
    if not path.exists():
        return []
    pairs: list[tuple[str, str]] = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        if line[:1] in (" ", "\t") and pairs:
            key, value = pairs[-1]
            pairs[-1] = (key, f"{value} {line.strip()}")
        elif ":" in line:
            key, _, value = line.partition(":")
            pairs.append((key.strip(), value.strip()))
    return pairs


def bag_info_value(bag_dir: str | os.PathLike, label: str) -> str | None:
    for key, value in read_bag_info(bag_dir):
        if key.lower() == label.lower():
            return value
    return None


def payload_oxum(files: Iterable[int]) -> str:
    sizes = list(files)
    return f"{sum(sizes)}.{len(sizes)}"


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{n} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} bytes"


def write_payload_manifests(bag_dir: Path, digests: Mapping[str, Mapping[str, str]],
                            algorithms: Iterable[str], durable: bool = False) -> None:
    """`digests` maps a payload path ("data/...") to {algorithm: hex digest}."""
    for alg in algorithms:
        write_file(bag_dir / f"manifest-{alg}.txt",
                   manifest_text((p, d[alg]) for p, d in digests.items()), durable)


def tag_files(bag_dir: Path) -> list[str]:
    """Every file outside data/ except the tag manifests themselves (RFC 8493 section 2.2.1)."""
    found = []
    for root, dirs, files in os.walk(bag_dir):
        rel_root = Path(root).relative_to(bag_dir)
        if rel_root == Path("."):
            dirs[:] = [d for d in dirs if d != "data"]
        for name in files:
            rel = (rel_root / name).as_posix()
            if rel_root == Path(".") and name.startswith("tagmanifest-"):
                continue
            found.append(rel)
    return sorted(found)


def tag_manifest_texts(bag_dir: Path, algorithms: Iterable[str]) -> dict[str, bytes]:
    algorithms = tuple(algorithms)
    buf = bytearray(1 << 16)
    digests = {rel: hash_file(bag_dir / rel, algorithms, buf)[1] for rel in tag_files(bag_dir)}
    return {f"tagmanifest-{alg}.txt": manifest_text((p, d[alg]) for p, d in digests.items())
            for alg in algorithms}


def manifest_algorithms(bag_dir: Path, prefix: str = "manifest-") -> list[str]:
    return sorted(p.name[len(prefix):-4] for p in bag_dir.glob(f"{prefix}*.txt"))


def write_tag_manifests(bag_dir: Path, algorithms: Iterable[str], durable: bool = False) -> None:
    for name, text in tag_manifest_texts(bag_dir, algorithms).items():
        write_file(bag_dir / name, text, durable)


def rewrite_tag_manifests(bag_dir: Path) -> None:
    """Refresh the tag manifests of an existing bag after a tag file changed, atomically each."""
    algorithms = manifest_algorithms(bag_dir, "tagmanifest-") or manifest_algorithms(bag_dir)
    for name, text in tag_manifest_texts(bag_dir, algorithms).items():
        atomic_write(bag_dir / name, text)
