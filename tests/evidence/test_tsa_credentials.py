"""A time-stamping authority's URL with credentials in it is refused wherever it is given,
and never shown: not in messages, not in the package."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from archiver.evidence import Authority, seal, verify_package
from archiver.evidence.timestamps import authorities_from

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "reports"
SECRET = "Hunter2secret"


def _with_password(url: str) -> str:
    return url.replace("http://", f"http://depositor:{SECRET}@", 1)


def _run(cwd, *args):
    return subprocess.run([sys.executable, "-m", "archiver", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def _nothing_holds_the_secret(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_cli_refuses_a_tsa_url_with_credentials_from_the_option_or_the_config(tmp_path, key_files, tsa):
    url = tsa.tsas["chained"].url
    assert _run(tmp_path, "build", str(EXAMPLES), "--out", "store", "--no-fsync", "-q").returncode == 0
    given = _run(tmp_path, "seal", "store", "--key", str(key_files[0]), "--tsa", url, "--tsa", _with_password(url))
    assert given.returncode == 2 and "--tsa" in given.stderr
    assert SECRET not in given.stdout + given.stderr
    (tmp_path / "archiver.toml").write_text(f'[evidence]\ntsa = ["{url}", {{url = "{_with_password(url)}", '
                                            'name = "basic"}]\n')
    configured = _run(tmp_path, "seal", "store", "--key", str(key_files[0]))
    assert configured.returncode == 2 and "archiver.toml" in configured.stderr and "[evidence] tsa" in configured.stderr
    assert SECRET not in configured.stdout + configured.stderr
    renewal = _run(tmp_path, "seal", "store", "--renew", "--tsa", _with_password(url))
    assert renewal.returncode == 2 and SECRET not in renewal.stdout + renewal.stderr
    assert not list((tmp_path / "store").glob("*/evidence"))  # nothing sealed
    _nothing_holds_the_secret(tmp_path / "store")


def test_no_authority_carries_credentials_through_the_api(tsa):
    url = _with_password(tsa.tsas["chained"].url)
    for make in (lambda: Authority(url), lambda: authorities_from([url], {}),
                 lambda: authorities_from([], {"tsa": [{"url": url}]})):
        with pytest.raises(ValueError) as caught:
            make()
        assert SECRET not in str(caught.value)
    assert authorities_from([tsa.tsas["chained"].url + "?who=a@b"], {})  # an @ after the host is no userinfo


def test_verify_never_shows_credentials_a_package_sealed_earlier_names(store, signing_key, two_authorities, tsa):
    """A package sealed before such URLs were refused: its timestamps.json names one (the
    file is outside what the signature and the tokens cover); verify's messages mask it."""
    bag = sorted(store.iterdir())[0]
    seal([bag], key=signing_key, authorities=two_authorities)
    stamps_path = bag / "evidence" / "0001" / "timestamps.json"
    stamps = json.loads(stamps_path.read_bytes())
    for t in stamps["tokens"]:
        t["authority"] = _with_password(t["url"])
    stamps_path.write_text(json.dumps(stamps))
    report = verify_package(bag)  # the test root is not trusted: a message per token, naming its authority
    untrusted = [p for p in report.problems if p.code == "EVIDENCE-TSA-UNTRUSTED"]
    assert untrusted and all("http://***@" in p.message for p in untrusted)
    assert SECRET not in json.dumps(report.to_dict())
