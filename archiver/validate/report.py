"""What validating one bag found: its problems, and what was checked."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from archiver.bagit.rules import ManifestEntries
from archiver.problems import ERROR, WARNING, Problem

MODES = ("full", "fast", "completeness")
ARCHIVER_PROFILE_ID = "https://archiver.example.org/profiles/report-package/v1.json"

Progress = Callable[[int, int], None]  # (bytes hashed so far, bytes to hash)


@dataclass
class Parsed:
    """What a validation read, handed back to a caller that acts on the bag right after
    (a deposit), so that it need not read and parse it all again. It stands for the bag only
    as the validation found it: a caller compares what it writes with it, never trusts a
    later state of the bag to it."""
    encoding: str                      # bagit.txt's tag file encoding
    manifests: list[ManifestEntries]   # the payload manifests as parsed
    tag_manifests: list[ManifestEntries]
    premis: object | None = None       # metadata/premis.xml's lxml root, if it was parsed
    temporaries: list[str] = field(default_factory=list)  # archiver's own, outside data/


@dataclass
class BagReport:
    path: str
    mode: str = "full"
    problems: list[Problem] = field(default_factory=list)
    version: str | None = None
    profile: str | None = None  # identifier (or file) of the profile checked
    payload_files: int = 0
    payload_bytes: int = 0
    serialization: str | None = None  # MIME type when the bag came as an archive
    archiver_package: bool = False
    readable: bool = True  # False: the path itself could not be read (CLI exit 2)
    checked: list[str] = field(default_factory=list)
    recorded: str | None = None  # identifier of the PREMIS event written by record=True
    evidence: list[str] = field(default_factory=list)  # what a sealed package's seals prove
    # validate_bag(keep_parsed=True): what it parsed, for the caller (never in to_dict)
    parsed: Parsed | None = field(default=None, repr=False, compare=False)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def valid(self) -> bool:
        return self.readable and not any(p.severity == ERROR for p in self.problems)

    def summary(self) -> str:
        verdict = "valid" if self.valid else "INVALID"
        return (f"{verdict}: {len(self.errors)} error(s), {len(self.warnings)} warning(s); "
                f"{self.payload_files} payload file(s), {self.payload_bytes} bytes; "
                f"checked {', '.join(self.checked) or 'nothing'}")

    def to_dict(self) -> dict:
        return {
            "path": self.path, "valid": self.valid, "mode": self.mode, "version": self.version,
            "profile": self.profile, "serialization": self.serialization,
            "archiver_package": self.archiver_package, "checked": self.checked,
            "summary": {"errors": len(self.errors), "warnings": len(self.warnings),
                        "payload_files": self.payload_files, "payload_bytes": self.payload_bytes},
            "recorded": self.recorded, "evidence": self.evidence,
            "problems": [p.to_dict() for p in self.problems],
        }
