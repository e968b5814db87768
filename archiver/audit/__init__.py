"""archiver audit: fixity over decades, against a ledger of what every package first was.

    from archiver.audit import audit, history
    run = audit(["packages"], due=90 * 86400)      # AuditRun: .results, .found, .summary()
    print(history("packages/rpt-...").entries)
    check_seals(Ledger.open(path, readonly=True), anchors)   # the rounds' sealed heads, offline

See ledger.py (the ledger and its interface), inventory.py (reading packages), findings.py
(what is found), sealed.py (sealed packages), run.py (a round), schedule.py, record.py
(PREMIS), history.py, export.py, seal.py (round heads time-stamped and checked).
"""
from archiver.audit.history import history
from archiver.audit.ledger import Ledger, LedgerError, default_ledger_path
from archiver.audit.locations import LocationError
from archiver.audit.run import AuditRun, PackageResult, audit
from archiver.audit.seal import check_seals

__all__ = ["audit", "history", "Ledger", "LedgerError", "LocationError", "AuditRun",
           "PackageResult", "check_seals", "default_ledger_path"]
