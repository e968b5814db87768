"""Sealed packages in an audit (archiver.evidence): which files are evidence, and what the
seals say about the package as the audit has just read it.

The ledger's rule for evidence/ is in findings.py (records may only be added, like PREMIS
events); the cryptography is archiver.evidence.verify_package's, handed the digests the
audit computed, so a sealed package costs no second read of its payload or tag files: only
the few small files of its records are read (and each batch's token is checked once per
process). Seals are verified in package directories; a serialized package or an OCFL object
gets the ledger's rule and a note.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from archiver.audit.inventory import Inventory
from archiver.bagit.bag import SEAL_DIRECTORY
from archiver.problems import WARNING, Problem

PREFIX = SEAL_DIRECTORY + "/"
# what this verifier does not know (no --signer named, no revocation data), not what changed
ADVISORY = {"EVIDENCE-SIGNER-UNKNOWN", "EVIDENCE-REVOCATION-UNKNOWN"}


def is_evidence(rel: str) -> bool:
    return rel.startswith(PREFIX)


def record_of(rel: str) -> str | None:
    """'evidence/0002' for a file of record 0002; None for anything else in evidence/ (an
    interrupted seal's .NNNN.tmp/, a stray file) and outside it."""
    parts = rel.split("/")
    if len(parts) >= 3 and parts[0] == SEAL_DIRECTORY and len(parts[1]) == 4 and parts[1].isdigit():
        return f"{SEAL_DIRECTORY}/{parts[1]}"
    return None


@dataclass
class SealCheck:
    verified: bool  # verify_package ran (its findings name strays and interrupted seals)
    findings: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # EVIDENCE-METADATA-CHANGED, kept apart: metadata grows after a seal, and findings.py
    # judges whether these changes are growth it accepts
    metadata: Problem | None = None
    metadata_changes: dict[str, str] = field(default_factory=dict)
    events_gone: list[str] = field(default_factory=list)


class SealVerifier:
    """Trust anchors and signer keys from [evidence] of the configuration, read once per
    audit (named files now, so that a bad one stops the audit before it starts; the
    system's store only when a sealed package needs it)."""

    def __init__(self, config: dict):
        section = config.get("evidence") or {}
        self._trust = [str(p) for p in section.get("trust", [])]
        self._anchors = self._signers = None
        if self._trust or section.get("signers"):  # else the cryptography waits for a sealed package
            from archiver.evidence.keys import signer_file_keys
            from archiver.evidence.trust import anchors_from

            self._anchors = anchors_from(self._trust) if self._trust else None
            self._signers = [k for s in section.get("signers", []) for k in signer_file_keys(s)]

    @property
    def anchors(self):
        if self._anchors is None:
            from archiver.evidence.trust import anchors_from
            self._anchors = anchors_from([])
        return self._anchors

    def check(self, inv: Inventory) -> SealCheck | None:
        """None for a package that holds no evidence/; else what its seals prove."""
        if not any(is_evidence(rel) for rel in (*inv.files, *inv.unreadable)):
            if inv.kind != "bag" or not os.path.isdir(os.path.join(inv.location, SEAL_DIRECTORY)):
                return None
        if inv.kind != "bag":
            return SealCheck(False, notes=[f"sealed: seals are verified in package directories, not in "
                                           f"a {inv.kind} package (evidence/ held to the ledger's rule only)"])
        from archiver.evidence import verify_package

        digests = {rel: digests for rel, (_size, digests) in inv.files.items()}
        digests.update({rel: None for rel in inv.unreadable})
        try:
            report = verify_package(inv.location, trust=self.anchors, signers=self._signers or [],
                                    digests=digests)
        except Exception as e:  # a package must not stop the round: say what happened to it
            from archiver.problem_codes import problem
            return SealCheck(True, [problem("EVIDENCE-RECORD-UNREADABLE", SEAL_DIRECTORY,
                                            f"the seals could not be verified: {type(e).__name__}: {e}")])
        out = SealCheck(True, metadata_changes=report.metadata_changes, events_gone=report.events_gone)
        for p in report.problems:
            if p.path in inv.unreadable:
                continue  # AUDIT-FILE-UNREADABLE names it already
            if p.code == "EVIDENCE-METADATA-CHANGED":
                out.metadata = p
            elif p.code in ADVISORY and p.severity == WARNING:
                if p.code != "EVIDENCE-SIGNER-UNKNOWN":  # the statements say "unknown to this verifier"
                    out.notes.append(f"seal: {p.code} {p.path}: {p.message}")
            else:
                out.findings.append(p)
        if report.statements:
            out.notes.insert(0, "seals: " + "; ".join(report.statements))
        return out
