"""A seal, and a renewal without a key, killed at every one of their steps: the next seal
completes or undoes it, and the package is valid and proven afterwards, never half-sealed."""
from __future__ import annotations

import shutil

from faults import archiver_command, run_killed_at, steps_of

from archiver.evidence import seal, verify_package
from archiver.evidence.layout import staged_records
from archiver.validate import validate_bag


def _killed_at_every_step(pristine, cmd, tmp_path, at_least: int):
    """(n, the n-th step, a copy of `pristine` that `cmd` was killed in at that step), each n."""
    probe = tmp_path / "probe"
    shutil.copytree(pristine, probe)
    steps = steps_of(cmd(probe), cwd=tmp_path)
    assert len(steps) >= at_least, steps
    for n in range(1, len(steps) + 1):
        bag = tmp_path / f"killed-{n}"
        shutil.copytree(pristine, bag)
        run_killed_at(cmd(bag), n, cwd=tmp_path)
        yield n, steps[n - 1], bag
        shutil.rmtree(bag)


def _outside_evidence(bag):
    return {str(p.relative_to(bag)): p.read_bytes() for p in bag.rglob("*")
            if p.is_file() and p.relative_to(bag).parts[0] != "evidence"}


def test_seal_killed_at_every_step_is_completed_or_undone(store, key_files, signing_key, two_authorities, tsa,
                                                          tmp_path):
    pristine = sorted(store.iterdir())[0]
    tsas = [x for a in two_authorities[:1] for x in ("--tsa", a.url)]
    cmd = lambda bag: archiver_command("seal", str(bag), "--key", str(key_files[0]), *tsas)  # noqa: E731
    (tmp_path / "archiver.toml").write_text(f'[evidence]\ntrust = ["{tsa.root_pem}"]\n')
    for n, step, bag in _killed_at_every_step(pristine, cmd, tmp_path, at_least=10):
        interrupted = verify_package(bag, trust=[tsa.root_pem]) if (bag / "evidence").exists() else None
        assert validate_bag(bag).valid or interrupted is not None, n
        result = seal([bag], key=signing_key, authorities=two_authorities[:1])[0]
        assert result.status == "sealed", (n, [str(p) for p in result.problems])
        assert not staged_records(bag)
        report = verify_package(bag, trust=[tsa.root_pem])
        assert report.proven, (n, step, [str(p) for p in report.problems])
        assert validate_bag(bag).valid, n
        records = sorted(p.name for p in (bag / "evidence").iterdir())
        assert records in (["0001"], ["0001", "0002"]), (n, records)


def test_renewal_without_key_killed_at_every_step_is_completed_or_undone(store, signing_key, two_authorities,
                                                                         key_files, tsa, tmp_path):
    pristine = sorted(store.iterdir())[0]
    seal([pristine], key=signing_key, authorities=two_authorities[:1])
    outside = _outside_evidence(pristine)
    cmd = lambda bag: archiver_command("seal", str(bag), "--renew", "--tsa", two_authorities[0].url)  # noqa: E731
    for n, step, bag in _killed_at_every_step(pristine, cmd, tmp_path, at_least=5):
        result = seal([bag], key=None, authorities=two_authorities[:1], renew=True)[0]
        assert result.status == "renewed", (n, [str(p) for p in result.problems])
        assert not staged_records(bag)
        report = verify_package(bag, trust=[tsa.root_pem], signers=[key_files[1]])
        assert report.proven, (n, step, [str(p) for p in report.problems])
        records = sorted(p.name for p in (bag / "evidence").iterdir())
        assert records in (["0001", "0002"], ["0001", "0002", "0003"]), (n, records)
        assert _outside_evidence(bag) == outside, n
