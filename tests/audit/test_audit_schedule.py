"""Scheduling without a daemon: --due, --limit, --for, oldest first, resumed rounds."""
from __future__ import annotations

import shutil

import pytest

from archiver.audit.schedule import parse_duration, parse_size

from auditkit import run_audit


def _bigger_store(store, copies=4):
    """The three packages, each copied under more names (a store of 3 * copies)."""
    for package in list(store.iterdir()):
        for i in range(1, copies):
            shutil.copytree(package, store / f"{package.name}-copy{i}")
    return sorted(p.name for p in store.iterdir())


def test_parsing():
    assert parse_duration("90d") == 90 * 86400 and parse_duration("30m") == 1800
    assert parse_size("50GB") == 50 * 10**9 and parse_size("2MiB") == 2 * 2**20
    with pytest.raises(ValueError):
        parse_duration("soon")
    with pytest.raises(ValueError):
        parse_size("a lot")


def test_due_skips_what_was_audited_recently(store, ledger):
    run_audit(store, ledger=ledger)
    later = run_audit(store, ledger=ledger, due=90 * 86400)
    assert later.results == [] and later.not_due == 3 and later.finished
    shutil.copytree(next(store.iterdir()), store / "newcomer")
    fresh = run_audit(store, ledger=ledger, due=90 * 86400)
    assert [r.location.rsplit("/", 1)[-1] for r in fresh.results] == ["newcomer"]
    assert len(run_audit(store, ledger=ledger, due=0).results) == 4


def test_limit_works_through_the_store_over_several_runs_oldest_first(store, ledger):
    names = _bigger_store(store)
    size = sum(f.stat().st_size for f in next(store.iterdir()).rglob("*") if f.is_file())
    seen = []
    runs = 0
    while True:
        run = run_audit(store, ledger=ledger, limit=int(size * 2.5))
        runs += 1
        seen += [r.location.rsplit("/", 1)[-1] for r in run.results]
        if run.finished:
            break
        assert run.stopped == "limit" and run.results
        assert runs < 20
    assert sorted(seen) == names  # each package exactly once in the round
    assert runs > 2
    # the next round starts with the package audited longest ago: the first of the last round
    nxt = run_audit(store, ledger=ledger, limit=1)
    assert [r.location.rsplit("/", 1)[-1] for r in nxt.results] == seen[:1]


def test_for_bounds_a_run_by_time(store, ledger):
    _bigger_store(store)
    run = run_audit(store, ledger=ledger, seconds=0, jobs=1)
    assert len(run.results) == 1 and run.stopped == "time" and not run.finished
    rest = run_audit(store, ledger=ledger)
    assert rest.resumed and rest.done_before == 1 and len(rest.results) == 11 and rest.finished
