"""audit --record on a sealed package keeps every event a seal pinned: dropping one would be a
rewrite of sealed metadata, which validate and verify rightly call an error."""
from __future__ import annotations

from archiver.audit.record import audit_events
from archiver.evidence import seal
from archiver.validate import validate_bag

from auditkit import findings, run_audit


def _ids(package):
    return [e.identifier for e in audit_events((package / "metadata" / "premis.xml").read_bytes())]


def test_nightly_audits_keep_the_events_a_seal_pinned(store, ledger, signing_key, two_authorities, tsa,
                                                     key_files):
    trusting = {"evidence": {"trust": [str(tsa.root_pem)], "signers": [str(key_files[1])]}}
    package = sorted(store.iterdir())[0]
    for _ in range(2):
        assert run_audit(package, ledger=ledger, record=True).results[0].recorded
    pinned = _ids(package)  # the first audit's event and the latest one, both sealed below
    assert len(pinned) == 2
    [sealed] = seal([package], key=signing_key, authorities=two_authorities)
    assert sealed.status == "sealed", sealed.problems
    for _ in range(3):
        run = run_audit(package, ledger=ledger, record=True, config=trusting)
        assert not run.found and run.results[0].recorded, findings(run)
    kept = _ids(package)
    assert kept[:2] == pinned and len(kept) == 3  # the sealed two, and only the latest since
    report = validate_bag(package)
    assert report.valid, report.problems
