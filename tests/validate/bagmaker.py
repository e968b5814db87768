"""Hand-made bags for the validator tests: real files under tmp_path, written byte by byte.

`make_bag` writes a valid BagIt 1.0 bag from a {path: bytes} payload; every argument bends one
part of it, so each test states only the rule it breaks. `refresh_tag_manifests` recomputes
tag manifests after a test edits a tag file, so the test sees only the problem it made.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

PROFILES = Path(__file__).resolve().parent / "profiles"


def digest(data: bytes, alg: str = "sha256") -> str:
    return hashlib.new(alg, data).hexdigest()


def manifest_line(path: str, data: bytes, alg: str = "sha256") -> str:
    encoded = path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return f"{digest(data, alg)}  {encoded}\n"


def make_bag(root: Path, payload: dict[str, bytes] | None = None, *, algs=("sha256",),
             tag_algs=("sha256",), info: list[tuple[str, str]] | None = None, oxum: bool = True,
             declaration: bytes | None = None, tag_files: dict[str, bytes] | None = None,
             encoding: str = "utf-8") -> Path:
    """A valid bag at `root`. `payload` maps bag paths ("data/a.txt") to bytes."""
    payload = {"data/a.txt": b"alpha\n", "data/sub/b.txt": b"bravo\n"} if payload is None else payload
    root.mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    for rel, data in payload.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (root / "bagit.txt").write_bytes(
        declaration if declaration is not None
        else b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    lines = [("Source-Organization", "Test Archive"), ("Bagging-Date", "2024-05-01")]
    if oxum:
        lines.append(("Payload-Oxum", f"{sum(len(d) for d in payload.values())}.{len(payload)}"))
    lines += info or []
    (root / "bag-info.txt").write_bytes("".join(f"{k}: {v}\n" for k, v in lines).encode(encoding))
    for alg in algs:
        (root / f"manifest-{alg}.txt").write_bytes(
            "".join(manifest_line(p, d, alg) for p, d in sorted(payload.items())).encode(encoding))
    for rel, data in (tag_files or {}).items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    refresh_tag_manifests(root, tag_algs)
    return root


def refresh_tag_manifests(root: Path, algs=None) -> None:
    if algs is None:
        algs = [p.name[len("tagmanifest-"):-4] for p in root.glob("tagmanifest-*.txt")]
    for old in root.glob("tagmanifest-*.txt"):
        old.unlink()
    tag_files = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir == Path("."):
            dirnames[:] = [d for d in dirnames if d != "data"]
        for name in filenames:
            tag_files.append((rel_dir / name).as_posix())
    for alg in algs:
        text = "".join(manifest_line(rel, (root / rel).read_bytes(), alg) for rel in sorted(tag_files))
        (root / f"tagmanifest-{alg}.txt").write_text(text, encoding="utf-8")


def found(report) -> set[tuple[str, str]]:
    """(code, path) of every problem."""
    return {(p.code, p.path) for p in report.problems}


def codes(report) -> set[str]:
    return {p.code for p in report.problems}


def errors(report) -> set[tuple[str, str]]:
    return {(p.code, p.path) for p in report.errors}
