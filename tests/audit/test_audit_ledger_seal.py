"""[audit] seal = true: each round's chain head time-stamped by the local authority, and
`archiver audit --check-ledger` verifying those proofs offline, end to end through the CLI."""
from __future__ import annotations

import base64
import json
import sqlite3
from datetime import datetime, timedelta, timezone

from archiver.audit.ledger import chain_hash
from archiver.evidence import timestamp_digests
from archiver.evidence.layout import canonical_json

from auditkit import cli
from faults import archiver_command, run_killed_at, steps_of


def _config(folder, tsa, sealing=True, tsa_urls=None):
    if tsa_urls is None:  # the two authorities of the evidence tests, named
        entries = (f'{{url = "{tsa.tsas["chained"].url}", name = "chained"}}, {{url = "{tsa.tsas["plain"].url}", '
                   f'name = "plain", certificates = "{tsa.chain_file("plain")}"}}')
    else:
        entries = ", ".join(f'"{u}"' for u in tsa_urls)
    (folder / "archiver.toml").write_text(
        f'[audit]\nledger = "{folder / "ledger.sqlite"}"\nseal = {str(sealing).lower()}\n'
        f'[evidence]\ntsa = [{entries}]\ntrust = ["{tsa.root_pem}"]\n', encoding="utf-8")
    return folder / "ledger.sqlite"


def _env(tmp_path):
    return {"XDG_CONFIG_HOME": str(tmp_path / "no-config"), "XDG_DATA_HOME": str(tmp_path / "no-data")}


def _rechain(ledger, seq, change):
    """A careful forger: edit record `seq` with `change(time, body) -> (time, body)` and
    recompute every hash from there on, so the chain alone checks out."""
    with sqlite3.connect(ledger) as con:
        rows = con.execute("SELECT seq, time, kind, package, body, prev FROM records ORDER BY seq").fetchall()
        prev = None
        for s, time, kind, package, body, old_prev in rows:
            if s < seq:
                continue
            if s == seq:
                time, body = change(time, json.loads(body))
                body = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            prev = old_prev if prev is None else prev
            digest = chain_hash(prev, s, time, kind, package, body)
            con.execute("UPDATE records SET time=?, body=?, prev=?, hash=? WHERE seq=?",
                        (time, body, prev, digest, s))
            prev = digest
        for r, in con.execute("SELECT id FROM rounds").fetchall():
            end = [x for x in con.execute("SELECT hash, body, time FROM records WHERE kind='round-end'")
                   if json.loads(x[1])["round"] == r]
            if end:
                con.execute("UPDATE rounds SET head=?, finished=? WHERE id=?", (end[0][0], end[0][2], r))


def test_rounds_are_sealed_and_checked_offline(store, tmp_path, tsa):
    ledger = _config(tmp_path, tsa)
    before = tsa.requests
    done = cli("audit", store, cwd=tmp_path, env=_env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "head sealed by chained, plain" in done.stdout and tsa.requests - before == 2
    assert cli("audit", store, cwd=tmp_path, env=_env(tmp_path)).returncode == 0
    checked = cli("audit", "--check-ledger", cwd=tmp_path, env=_env(tmp_path))
    assert checked.returncode == 0, checked.stdout
    assert "ledger intact" in checked.stdout and "2 round(s) sealed" in checked.stdout
    assert "sealed  round 2: records 1.." in checked.stdout and "(2 of 2 time-stamping authorities" in checked.stdout
    assert tsa.requests - before == 4  # checking is offline: no authority was asked
    with sqlite3.connect(ledger) as con:
        kinds = [k for k, in con.execute("SELECT kind FROM records WHERE package IS NULL ORDER BY seq")]
    assert kinds == ["round", "round-end", "seal", "round", "round-end", "seal"]


def test_a_ledger_edited_after_its_head_was_sealed_is_caught(store, tmp_path, tsa):
    ledger = _config(tmp_path, tsa)
    assert cli("audit", store, cwd=tmp_path, env=_env(tmp_path)).returncode == 0
    with sqlite3.connect(ledger) as con:
        seq, = con.execute("SELECT seq FROM records WHERE kind='baseline' ORDER BY seq LIMIT 1").fetchone()

    def forge(time, body):  # the first-seen digest of a payload file, to let a rewrite pass
        path = next(p for p in body["files"] if p.startswith("data/"))
        body["files"][path]["digests"]["sha256"] = "0" * 64
        return time, body

    _rechain(ledger, seq, forge)
    checked = cli("audit", "--check-ledger", cwd=tmp_path, env=_env(tmp_path))
    assert checked.returncode == 1
    assert "AUDIT-LEDGER-SEAL" in checked.stdout and "AUDIT-LEDGER-CHAIN" not in checked.stdout
    assert "were rewritten after the seal" in checked.stdout
    without_seals = cli("audit", "--check-ledger", "--ledger", ledger, cwd=tmp_path.parent, env=_env(tmp_path))
    assert "AUDIT-LEDGER-CHAIN" not in without_seals.stdout  # the chain alone is fooled


def test_a_ledger_rewritten_and_sealed_again_later_is_caught(store, tmp_path, tsa):
    ledger = _config(tmp_path, tsa)
    assert cli("audit", store, cwd=tmp_path, env=_env(tmp_path)).returncode == 0
    with sqlite3.connect(ledger) as con:
        rows = con.execute("SELECT seq, kind FROM records WHERE kind IN ('round-end', 'seal')").fetchall()
    (end_seq, _), (seal_seq, _) = rows

    def backdate(time, body):  # as if the round had ended three days ago
        then = datetime.now(timezone.utc) - timedelta(days=3)
        return then.isoformat(timespec="seconds").replace("+00:00", "Z"), body

    _rechain(ledger, end_seq, backdate)
    with sqlite3.connect(ledger) as con:
        head, = con.execute("SELECT hash FROM records WHERE seq=?", (end_seq,)).fetchone()
    proofs, _ = timestamp_digests([bytes.fromhex(head)], [tsa.tsas["chained"].url])
    fresh = base64.b64encode(canonical_json(proofs[0].to_dict())).decode("ascii")
    _rechain(ledger, seal_seq, lambda time, body: (time, {**body, "seal": fresh}))
    checked = cli("audit", "--check-ledger", cwd=tmp_path, env=_env(tmp_path))
    assert checked.returncode == 1 and "AUDIT-LEDGER-SEAL" in checked.stdout
    assert "time-stamped only at" in checked.stdout


def test_a_proof_that_does_not_verify_is_named(store, tmp_path, tsa):
    ledger = _config(tmp_path, tsa, tsa_urls=[tsa.tsas["chained"].url])
    assert cli("audit", store, cwd=tmp_path, env=_env(tmp_path)).returncode == 0
    # trust another root: the authority's token no longer rests on a trusted anchor
    from pki import pem, root_authority
    other = tmp_path / "other-root.pem"
    other.write_bytes(pem(root_authority("Somebody else's root").cert))
    text = (tmp_path / "archiver.toml").read_text().replace(str(tsa.root_pem), str(other))
    (tmp_path / "archiver.toml").write_text(text)
    checked = cli("audit", "--check-ledger", cwd=tmp_path, env=_env(tmp_path))
    assert checked.returncode == 1 and "AUDIT-LEDGER-SEAL" in checked.stdout
    assert "no time-stamp of its head verifies" in checked.stdout
    assert ledger.is_file()


def test_an_authority_that_does_not_answer_leaves_the_round_unsealed_and_says_so(store, tmp_path, tsa):
    _config(tmp_path, tsa, tsa_urls=["http://127.0.0.1:9/tsr"])
    done = cli("audit", store, cwd=tmp_path, env=_env(tmp_path))
    assert done.returncode == 0 and "head sealed" not in done.stdout
    assert "not sealed" in done.stderr and "127.0.0.1:9" in done.stderr
    checked = cli("audit", "--check-ledger", cwd=tmp_path, env=_env(tmp_path))
    assert checked.returncode == 0 and "no round sealed" in checked.stdout


def test_seal_without_authorities_is_a_usage_error(store, tmp_path):
    (tmp_path / "archiver.toml").write_text(f'[audit]\nledger = "{tmp_path / "l.sqlite"}"\nseal = true\n')
    done = cli("audit", store, cwd=tmp_path, env=_env(tmp_path))
    assert done.returncode == 2 and "tsa in [evidence]" in done.stderr


def test_killed_at_every_step_of_a_sealed_round_the_next_round_seals_it_all(store, tmp_path, tsa):
    """A kill between a round's end and its seal leaves that round unsealed, never a seal
    of another head; the next round's sealed head covers every record before it."""
    package = sorted(store.iterdir())[0]

    def fresh(n):
        folder = tmp_path / f"run-{n}"
        folder.mkdir()
        _config(folder, tsa)
        return folder

    counting = fresh("count")
    steps = steps_of(archiver_command("audit", package, "-q"), cwd=counting)
    assert steps and sum("commit ledger" in s for s in steps) == len(steps)
    for n in range(1, len(steps) + 1):
        folder = fresh(n)
        run_killed_at(archiver_command("audit", package, "-q"), n, cwd=folder)
        done = cli("audit", package, "-q", cwd=folder, env=_env(tmp_path))
        assert done.returncode == 0, (n, done.stdout + done.stderr)
        checked = cli("audit", "--check-ledger", cwd=folder, env=_env(tmp_path))
        assert checked.returncode == 0 and "ledger intact" in checked.stdout, (n, checked.stdout)
        last = checked.stdout.strip().splitlines()[-1]
        assert "round(s) sealed" in last, (n, checked.stdout)
        with sqlite3.connect(folder / "ledger.sqlite") as con:
            total, = con.execute("SELECT MAX(seq) FROM records").fetchone()
            end, = con.execute("SELECT MAX(seq) FROM records WHERE kind='round-end'").fetchone()
        assert f"records 1..{end} existed" in checked.stdout and total == end + 1, (n, checked.stdout)
