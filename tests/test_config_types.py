"""archiver.toml's settings are held to their types (schemas/config.schema.json): a setting of
the wrong type is a usage error naming it (exit 2), never a traceback nor a different meaning."""
import pytest
from click.testing import CliRunner

from archiver.cli import main

from seeds import SEED_000

WRONG = [
    ('[evidence]\nsigners = "/etc/archiver/seal.pub"\n', "evidence.signers"),  # was read a character at a time
    ('[evidence]\ntrust = "x.pem"\n', "evidence.trust"),
    ('[evidence]\ntsa = "http://tsa.example"\n[audit]\nseal = true\n', "evidence.tsa"),
    ('[audit]\nseal = "no"\n', "audit.seal"),  # was taken for true
    ('[audit]\nledger = 5\n', "audit.ledger"),
    ('audit = "x"\n', "audit"),
    ('deposit = "vault"\n', "deposit"),
    ('[deposit.targets.t]\ntype = "sword"\nservice_document = 5\n', "deposit.targets.t.service_document"),
    ('[deposit.s3]\nmultipart_threshold = "64MB"\n', "deposit.s3.multipart_threshold"),
    ('[deposit.sword]\nretry = {attempts = "x"}\n', "deposit.sword.retry.attempts"),
    ('[build]\nagent = 5\n', "build.agent"),
]


@pytest.mark.parametrize("toml, setting", WRONG)
@pytest.mark.parametrize("command", ["build", "validate", "deposit", "audit"])
def test_a_setting_of_the_wrong_type_is_named(tmp_path, monkeypatch, toml, setting, command):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "archiver.toml").write_text(toml, encoding="utf-8")
    args = {"build": ["build", "--out", "packages", str(SEED_000)], "validate": ["validate", str(tmp_path)],
            "deposit": ["deposit", "--to", "ocfl:repository", str(tmp_path)],
            "audit": ["audit", "--ledger", "ledger.sqlite", str(tmp_path)]}[command]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, (result.output, result.exception)
    assert f"archiver.toml: {setting}: must be" in result.output
    assert not (tmp_path / "packages").exists() and not (tmp_path / "repository").exists()


def test_the_documented_settings_pass(tmp_path):
    from archiver.config import load_config

    (tmp_path / "archiver.toml").write_text("""
[deposit]
default = "vault"
[deposit.targets.vault]
type = "ocfl"
path = "/srv/preservation/ocfl"
layout = "0004-hashed-n-tuple-storage-layout"
[deposit.targets.cloud]
type = "s3"
bucket = "preservation"
multipart_threshold = 67108864
[deposit.targets.dspace]
type = "sword"
service_document = "https://repository.example.org/swordv2/servicedocument"
password_env = "DSPACE_PASSWORD"
in_progress = true
retry = {attempts = 3, base = 0.5, cap = 8}
[audit]
ledger = "/srv/archiver/ledger.sqlite"
seal = true
[evidence]
key = "/etc/archiver/seal.key"
tsa = ["https://freetsa.org/tsr", {url = "http://timestamp.digicert.com", name = "digicert"}]
trust = ["/etc/archiver/tsa-roots.pem"]
signers = ["/etc/archiver/seal.key.pub"]
[cluster]
scheduler = "tcp://10.0.0.1:8786"
timeout = 10
[serve]
token_env = "ARCHIVER_SERVE_TOKEN"
""", encoding="utf-8")
    assert load_config(tmp_path / "archiver.toml")["deposit"]["default"] == "vault"
