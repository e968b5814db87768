"""Where deposits go: targets named in archiver.toml, or given inline.

Inline targets: `ocfl:PATH`, `s3://BUCKET/PREFIX`, `sword:URL` (the service document).
Named targets live in `[deposit.targets.NAME]` with a `type`; `[deposit.ocfl]`,
`[deposit.s3]` and `[deposit.sword]` hold defaults for every target of that type, inline
ones included. Credentials come only from the configuration file or the environment
(`password_env = "VAR"` names a variable), never from the command line.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from archiver.deposit.base import ConfigurationError
from archiver.urls import has_userinfo, without_userinfo

DEFAULT_TARGET = "ocfl:repository"
KINDS = ("ocfl", "s3", "sword")

# Environment variables read when neither the target nor its type's defaults name a secret.
SWORD_ENV = {"username": "ARCHIVER_SWORD_USERNAME", "password": "ARCHIVER_SWORD_PASSWORD",
             "on_behalf_of": "ARCHIVER_SWORD_ON_BEHALF_OF"}
S3_ENV = {"access_key_id": "AWS_ACCESS_KEY_ID", "secret_access_key": "AWS_SECRET_ACCESS_KEY",
          "session_token": "AWS_SESSION_TOKEN"}


@dataclass
class TargetSpec:
    kind: str                     # "ocfl", "s3" or "sword"
    name: str                     # as the user named it (inline URI or config name)
    settings: dict = field(default_factory=dict)
    secrets: dict = field(default_factory=dict, repr=False)


def load(path: str | os.PathLike | None = None) -> dict:
    """The whole archiver.toml (working directory first, then the user config directory)."""
    from archiver.config import load_config
    try:
        return load_config(path)
    except Exception as e:  # ArchiverError: unreadable configuration
        raise ConfigurationError(str(e)) from None


def resolve(target: str | None, config: Mapping | None = None,
            env: Mapping[str, str] | None = None, *, collection: str | None = None) -> TargetSpec:
    """Turn `--to` (or its absence) into a TargetSpec, secrets resolved."""
    env = os.environ if env is None else env
    section = dict((config or {}).get("deposit", {}) or {})
    if not isinstance(section, dict):
        raise ConfigurationError("[deposit] in archiver.toml must be a table")
    named = section.get("targets", {}) or {}
    name = target or section.get("default") or DEFAULT_TARGET

    if name in named:
        settings = dict(named[name])
        kind = settings.pop("type", None)
        if kind not in KINDS:
            raise ConfigurationError(
                f"target {name!r}: type must be one of {', '.join(KINDS)} (got {kind!r})")
    elif name.startswith("ocfl:"):
        kind, settings = "ocfl", {"path": name[len("ocfl:"):]}
    elif name.startswith("s3://"):
        bucket, _, prefix = name[len("s3://"):].partition("/")
        kind, settings = "s3", {"bucket": bucket, "prefix": prefix}
    elif name.startswith("sword:"):
        kind, settings = "sword", {"service_document": name[len("sword:"):]}
    else:
        known = ", ".join(sorted(named)) or "none configured"
        raise ConfigurationError(
            f"unknown target {without_userinfo(name)!r}: use ocfl:PATH, s3://BUCKET/PREFIX, sword:URL "
            f"or a name from [deposit.targets] ({known})")

    defaults = section.get(kind, {}) or {}
    settings = {**defaults, **settings}
    if collection:
        settings["collection"] = collection
    spec = TargetSpec(kind=kind, name=name, settings=settings)
    _check(spec)
    _take_secrets(spec, env)
    return spec


def _check(spec: TargetSpec) -> None:
    s = spec.settings
    name = without_userinfo(spec.name)
    if spec.kind == "ocfl" and not s.get("path"):
        raise ConfigurationError(f"target {name!r}: an OCFL target needs a path")
    if spec.kind == "s3" and not s.get("bucket"):
        raise ConfigurationError(f"target {name!r}: an S3 target needs a bucket")
    if spec.kind == "sword":
        url = s.get("service_document", "")
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"target {name!r}: a SWORD target needs the http(s) URL of its service document")
        if has_userinfo(url):
            raise ConfigurationError(
                f"target {name!r}: put SWORD credentials in the configuration or the "
                "environment, not in the URL")


def _take_secrets(spec: TargetSpec, env: Mapping[str, str]) -> None:
    """Move credentials out of `settings` (which may be shown) into `secrets` (never shown)."""
    table = {"sword": SWORD_ENV, "s3": S3_ENV}.get(spec.kind, {})
    for key, default_var in table.items():
        named = spec.settings.pop(f"{key}_env", None)
        value = spec.settings.pop(key, None)
        if value is None:
            value = env.get(named or default_var)
            # A variable the configuration names must be set: without it the server would
            # only answer 401, and the user would hunt for a wrong password.
            if value is None and named:
                raise ConfigurationError(
                    f"target {without_userinfo(spec.name)!r}: {key}_env names the environment variable "
                    f"{named}, which is not set")
        if value is not None:
            spec.secrets[key] = str(value)
