"""Writing bags (RFC 8493, BagIt 1.0): bagit.txt, bag-info.txt, manifests, tag manifests.

Every write that changes an existing bag goes through a temporary file and a rename, so a
bag on disk is never half-rewritten.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from archiver.bagit.rules import parse_declaration
from archiver.durable import atomic_write, fsync_directory, is_temporary, sync_filesystem, write_file
from archiver.fixity import hash_file

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


def encode_manifest_path(path: str) -> str:
    """Percent-encode what RFC 8493 section 2.1.3 requires in manifest paths."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def decode_manifest_path(path: str) -> str:
    return path.replace("%0D", "\r").replace("%0d", "\r").replace(
        "%0A", "\n").replace("%0a", "\n").replace("%25", "%")


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


def read_bag_info(bag_dir: str | os.PathLike, encoding: str | None = None) -> list[tuple[str, str]]:
    """Parse bag-info.txt into (label, value) pairs, joining continuation lines. `encoding`:
    bagit.txt's, when the caller has read it already."""
    try:
        data = (Path(bag_dir) / "bag-info.txt").read_bytes()
    except FileNotFoundError:
        return []
    pairs: list[tuple[str, str]] = []
    text = data.decode(encoding or tag_encoding(bag_dir), errors="replace")
    for line in text.lstrip("\ufeff").splitlines():
        if line[:1] in (" ", "\t") and pairs:
            key, value = pairs[-1]
            pairs[-1] = (key, f"{value} {line.strip()}")
        elif ":" in line:
            key, _, value = line.partition(":")
            pairs.append((key.strip(), value.strip()))
    return pairs


def tag_encoding(bag_dir: str | os.PathLike) -> str:
    """The tag file encoding bagit.txt declares (UTF-8 when it cannot be read): validation
    judges the declaration; this only has to read a valid bag's values."""

    try:
        data = (Path(bag_dir) / "bagit.txt").read_bytes()
    except OSError:
        return "utf-8"
    return parse_declaration(data)[0].encoding


def bag_info_value(bag_dir: str | os.PathLike, label: str, encoding: str | None = None) -> str | None:
    for key, value in read_bag_info(bag_dir, encoding):
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


def manifest_files(digests: Mapping[str, Mapping[str, str]], algorithms: Iterable[str],
                      prefix: str = "manifest-") -> dict[str, bytes]:
    """{"<prefix><alg>.txt": text} for each algorithm: payload manifests by default, tag
    manifests with prefix "tagmanifest-". `digests` maps a bag path to {algorithm: hex}."""
    return {f"{prefix}{alg}.txt": manifest_text((p, d[alg]) for p, d in digests.items())
            for alg in algorithms}


def write_payload_manifests(bag_dir: Path, digests: Mapping[str, Mapping[str, str]],
                            algorithms: Iterable[str], durable: bool = False) -> None:
    for name, text in manifest_files(digests, algorithms).items():
        write_file(bag_dir / name, text, durable)


# The tag directory of seals (archiver.evidence): its files sign the tag manifests, so the
# tag manifests cannot list them (RFC 8493 §2.2.1 lets a tag manifest leave tag files out).
SEAL_DIRECTORY = "evidence"


def _tag_entries(bag_dir: str | os.PathLike) -> list[tuple[str, str]]:
    """(bag-relative path, path to open) of every file outside data/ and evidence/ except the
    tag manifests themselves (RFC 8493 section 2.2.1) and archiver's own temporaries, in one
    scandir walk."""
    found = []
    stack = [("", os.fspath(bag_dir))]
    while stack:
        rel_dir, full_dir = stack.pop()
        with os.scandir(full_dir) as entries:
            for entry in entries:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                if is_temporary(entry.name):
                    continue
                if entry.is_dir():  # as os.walk: a link to a directory is neither walked nor listed
                    if rel not in ("data", SEAL_DIRECTORY) and not entry.is_symlink():
                        stack.append((rel, entry.path))
                elif not (rel_dir == "" and entry.name.startswith("tagmanifest-")):
                    found.append((rel, entry.path))
    return found


def tag_files(bag_dir: Path) -> list[str]:
    """Every file outside data/ and evidence/ except the tag manifests themselves (RFC 8493
    section 2.2.1) and archiver's temporaries: what the tag manifests list."""
    return sorted(rel for rel, _ in _tag_entries(bag_dir))


def tag_manifest_texts(bag_dir: Path, algorithms: Iterable[str]) -> dict[str, bytes]:
    algorithms = tuple(algorithms)
    buf = bytearray(1 << 16)
    digests = {rel: hash_file(path, algorithms, buf)[1] for rel, path in _tag_entries(bag_dir)}
    return manifest_files(digests, algorithms, "tagmanifest-")


def tag_manifests_for(tag_files: Mapping[str, bytes], algorithms: Iterable[str]) -> dict[str, bytes]:
    """Tag manifests of a bag being written, from its tag files' bytes in memory
    ({"bag-info.txt": b"...", "metadata/dc.xml": b"..."}): nothing is read back from disk."""
    from archiver.fixity import hash_bytes

    algorithms = tuple(algorithms)
    digests = {rel: hash_bytes(data, algorithms) for rel, data in tag_files.items()}
    return manifest_files(digests, algorithms, "tagmanifest-")


def manifest_algorithms(bag_dir: Path, prefix: str = "manifest-") -> list[str]:
    return sorted(p.name[len(prefix):-4] for p in bag_dir.glob(f"{prefix}*.txt"))


def write_tag_manifests(bag_dir: Path, algorithms: Iterable[str], durable: bool = False) -> None:
    for name, text in tag_manifest_texts(bag_dir, algorithms).items():
        write_file(bag_dir / name, text, durable)


def tag_manifest_algorithms(bag_dir: Path) -> list[str]:
    """The algorithms of a bag's tag manifests, or of its payload manifests if it has none."""
    return manifest_algorithms(bag_dir, "tagmanifest-") or manifest_algorithms(bag_dir)


def rewrite_tag_manifests(bag_dir: Path) -> None:
    """Refresh the tag manifests of an existing bag after a tag file changed, atomically each."""
    for name, text in tag_manifest_texts(bag_dir, tag_manifest_algorithms(bag_dir)).items():
        atomic_write(bag_dir / name, text)


def _payload_files(directory: str) -> dict[str, int]:
    """Every regular file under `directory` (relative POSIX path -> size), one stat each."""
    found: dict[str, int] = {}
    stack = [("", directory)]
    while stack:
        rel_dir, full_dir = stack.pop()
        with os.scandir(full_dir) as entries:
            for entry in entries:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                if entry.is_dir(follow_symlinks=False):
                    stack.append((rel, entry.path))
                elif entry.is_file(follow_symlinks=False):
                    found[rel] = entry.stat(follow_symlinks=False).st_size
                else:
                    raise ValueError(f"{entry.path}: a link or special file; not bagged")
    return found


def _move_into_data(directory: str) -> None:
    """Move the directory's contents into data/ (via a hidden folder: `data` may be taken)."""
    tmp = tempfile.mkdtemp(prefix=".bagging-", dir=directory)
    for name in os.listdir(directory):
        if os.path.join(directory, name) != tmp:
            os.rename(os.path.join(directory, name), os.path.join(tmp, name))
    os.rename(tmp, os.path.join(directory, "data"))


def make_bag(directory: str | os.PathLike, algorithms: Iterable[str] = ("sha256", "sha512"),
             info: Iterable[tuple[str, str]] = (), jobs: int | None = None,
             durable: bool = True) -> Path:
    """Turn a directory into a plain BagIt 1.0 bag in place, as bagit-python's make_bag does.

    Its files move into data/; each is read once for every algorithm (in parallel), then
    bagit.txt, bag-info.txt (Bagging-Date, Payload-Oxum, Bag-Software-Agent and `info`),
    the manifests and the tag manifests are written. `durable` syncs it all once at the end.
    """
    from datetime import date

    from archiver import __version__
    from archiver.fixity import check_algorithms, hash_many

    algorithms = check_algorithms(algorithms)
    root = os.path.abspath(directory)
    if os.path.exists(os.path.join(root, "bagit.txt")):
        raise ValueError(f"{root} is already a bag")
    files = _payload_files(root)  # refuse links and special files before moving anything
    _move_into_data(root)
    data = os.path.join(root, "data")
    disk = {os.path.join(data, *rel.split("/")): f"data/{rel}" for rel in files}
    sizes = {path: files[rel[5:]] for path, rel in disk.items()}
    digests: dict[str, dict[str, str]] = {}
    for path, _size, result in hash_many(list(disk), algorithms, jobs=jobs, sizes=sizes):
        if isinstance(result, str):
            raise OSError(f"{path}: {result}")
        digests[disk[path]] = result
    bag = Path(root)
    write_file(bag / "bagit.txt", BAGIT_TXT)
    write_payload_manifests(bag, digests, algorithms)
    write_file(bag / "bag-info.txt", bag_info_text([
        ("Bagging-Date", date.today().isoformat()),
        ("Payload-Oxum", payload_oxum(files.values())),
        ("Bag-Software-Agent", f"archiver {__version__}"),
        *info]))
    write_tag_manifests(bag, algorithms)
    if durable:
        sync_filesystem(bag)
        fsync_directory(bag)
    return bag
