"""What metadata may do after a seal: grow, and nothing else (DESIGN: the payload never
changes; metadata grows).

metadata/premis.xml grows by appended events (a recorded validation, a deposit, a
verification), the tag manifests follow the tag files they list, and a new tag file they
list (a deposit receipt) may join; every other tag file keeps what the seal pinned, and no
PREMIS event the seal pinned may go. One rule for `archiver seal --renew` (which refuses
anything else), `archiver validate` (growth is a warning there, anything else an error) and
`archiver audit` (archiver.audit.findings).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

PREMIS = "metadata/premis.xml"


def grows(path: str) -> bool:
    """Files that change legitimately after packaging: premis.xml and the tag manifests."""
    return path == PREMIS or ("/" not in path and path.startswith("tagmanifest-"))


def grown_only(changes: Mapping[str, str], events_gone: Iterable[str], listed: Iterable[str]) -> bool:
    """`changes` ({tag file: "added" | "changed" | "removed"} since a seal) are growth only:
    premis.xml and tag manifests changed, files added only when the tag manifests list them
    (`listed`), and none of the seal's PREMIS events gone."""
    listed = set(listed)
    return not list(events_gone) and all(
        grows(rel) if how == "changed" else how == "added" and (rel in listed or grows(rel))
        for rel, how in changes.items())
