"""`archiver deposit`: exit codes, --json, --dry-run, archiver.toml, the default target, and
the rule that no credential ever shows up in output, logs, receipts or provenance."""
from __future__ import annotations

import base64
import json
import logging

import pytest
from click.testing import CliRunner

from archiver.cli import main
from archiver.deposit.config import resolve
from archiver.deposit.base import ConfigurationError


pytestmark = pytest.mark.skipif("deposit" not in main.commands,
                                reason="archiver/cli.py has no deposit command yet")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "user-config"))
    return tmp_path


def run(*args, env=None):
    result = CliRunner().invoke(main, ["deposit", *args], env=env, catch_exceptions=False)
    return result


def test_default_target_is_repository_beside_packages(workdir, bag_factory):
    bag = bag_factory("rpt-default")
    result = run(str(bag))
    assert result.exit_code == 0, result.output
    assert "deposited  rpt-default -> rpt-default v1" in result.output
    assert "verified yes" in result.output
    assert (workdir / "repository" / "0=ocfl_1.1").exists()
    again = run(str(workdir / "packages"))  # a folder of bags stands for its bags
    assert again.exit_code == 0 and "unchanged" in again.output


def test_json_report(workdir, bag_factory):
    bag = bag_factory("rpt-json")
    result = run(str(bag), "--to", f"ocfl:{workdir / 'elsewhere'}", "--json")
    assert result.exit_code == 0
    report = json.loads(result.output)
    [item] = report["results"]
    assert item["status"] == "deposited" and item["verified"] is True
    assert item["remote_id"] == "rpt-json" and item["bytes"] > 0 and item["seconds"] >= 0
    assert item["target"] == f"ocfl:{workdir / 'elsewhere'}"
    assert report["summary"]["deposited"] == 1


def test_dry_run(workdir, bag_factory):
    bag = bag_factory()
    result = run(str(bag), "--dry-run", "--json")
    assert result.exit_code == 0
    planned = json.loads(result.output)["results"][0]
    assert planned["status"] == "planned"
    assert planned["bytes"] == sum(p.stat().st_size for p in bag.rglob("*") if p.is_file())
    assert not (workdir / "repository").exists()


def test_invalid_package_exits_1_with_its_problems(workdir, bag_factory):
    good, bad = bag_factory("rpt-good"), bag_factory("rpt-bad")
    (bad / "data" / "report.txt").write_bytes(b"changed after bagging\n")
    result = run(str(good), str(bad))
    assert result.exit_code == 1
    assert "rpt-bad" in result.output and "refused" in result.output
    assert "1 deposited" in result.output and "1 refused" in result.output


def test_bad_usage_and_configuration_exit_2(workdir, bag_factory):
    bag = bag_factory()
    assert run(str(bag), "--to", "ftp://nowhere").exit_code == 2
    (workdir / "archiver.toml").write_text('[deposit.targets.x]\ntype = "tape"\n')
    assert run(str(bag), "--to", "x").exit_code == 2
    (workdir / "archiver.toml").write_text("not toml [")
    assert run(str(bag)).exit_code == 2
    (workdir / "archiver.toml").write_text('[deposit.targets.x]\ntype = "sword"\n'
                                           'service_document = "https://u:p@example.org/sd"\n')
    assert run(str(bag), "--to", "x").exit_code == 2
    assert run(str(workdir / "missing")).exit_code == 2


def test_named_targets_and_defaults_from_archiver_toml(workdir, bag_factory):
    (workdir / "archiver.toml").write_text(
        '[deposit]\ndefault = "vault"\n\n[deposit.targets.vault]\ntype = "ocfl"\n'
        'path = "vault"\nlayout = "flat-direct"\n')
    result = run(str(bag_factory("rpt-vault")))
    assert result.exit_code == 0, result.output
    assert (workdir / "vault" / "rpt-vault" / "inventory.json").exists()


def test_secrets_come_from_config_or_environment_only():
    env = {"ARCHIVER_SWORD_USERNAME": "u", "ARCHIVER_SWORD_PASSWORD": "from-env",
           "MY_PASS": "from-named-var"}
    spec = resolve("sword:https://repo.example.org/sd", {}, env)
    assert spec.secrets == {"username": "u", "password": "from-env"}
    assert "from-env" not in repr(spec) and "password" not in spec.settings
    config = {"deposit": {"sword": {"password_env": "MY_PASS"}}}
    assert resolve("sword:https://repo.example.org/sd", config, env).secrets["password"] == \
        "from-named-var"
    with pytest.raises(ConfigurationError):
        resolve("sword:ftp://repo.example.org/sd", {}, env)


def test_no_secret_leaks_anywhere(workdir, bag_factory, sword_server, seaweedfs, secrets,
                                  monkeypatch, caplog):
    """Credentials stay out of output, logs, receipts, PREMIS and error messages,
    on success and on failure alike."""
    caplog.set_level(logging.DEBUG)
    wrong_password, wrong_s3_secret = "wrong-pass-Tz5Kc8", "wrong-s3-Yh3Md6"
    (workdir / "archiver.toml").write_text(f"""
[deposit.targets.sword-ok]
type = "sword"
service_document = "{sword_server.url}"
collection = "reports"
password_env = "TEST_SWORD_PASSWORD"

[deposit.targets.sword-bad]
type = "sword"
service_document = "{sword_server.url}"
collection = "reports"
password = "{wrong_password}"

[deposit.targets.s3-ok]
type = "s3"
bucket = "deposits"
prefix = "leak"
endpoint_url = "{seaweedfs['endpoint']}"

[deposit.targets.s3-bad]
type = "s3"
bucket = "deposits"
prefix = "leak"
endpoint_url = "{seaweedfs['endpoint']}"
secret_access_key = "{wrong_s3_secret}"

[deposit.sword]
username = "{secrets['sword_user']}"
""")
    monkeypatch.setenv("TEST_SWORD_PASSWORD", secrets["sword_password"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", secrets["s3_access_key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secrets["s3_secret_key"])
    bag = bag_factory()
    outputs = []
    for name, code in (("sword-ok", 0), ("sword-bad", 1), ("s3-ok", 0), ("s3-bad", 1)):
        for extra in ((), ("--json",)):
            result = CliRunner().invoke(main, ["deposit", str(bag), "--to", name, *extra])
            assert result.exit_code == code, (name, result.output)
            outputs.append(result.output)
    written = "".join(p.read_text(errors="replace") for p in bag.rglob("*") if p.is_file())
    assert "metadata/deposits/" in written or list((bag / "metadata" / "deposits").iterdir())
    haystack = "\n".join(outputs) + caplog.text + written
    forbidden = [secrets["sword_password"], wrong_password, secrets["s3_secret_key"], wrong_s3_secret]
    forbidden += [base64.b64encode(f"{secrets['sword_user']}:{p}".encode()).decode()
                  for p in (secrets["sword_password"], wrong_password)]
    for secret in forbidden:
        assert secret not in haystack
