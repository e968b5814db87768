"""BagIt Profiles: load a profile, check a bag against it.

Two formats, detected from the document:

- the BagIt Profiles specification (1.4.0 and earlier): `BagIt-Profile-Info`, `Bag-Info`,
  `Manifests-Required`, ... The document is first checked against
  schemas/bagit-profile.schema.json, then for the cross-field rules the spec states in prose
  (Manifests-Allowed covers Manifests-Required, ...).
- DART's JSON (APTrust, Beyond the Repository): `bagItProfileInfo`, `acceptBagItVersion`,
  `tags` with `tagFile`/`tagName`, which can constrain tags in any tag file
  (aptrust-info.txt ...), plus `tarDirMustMatchName`.

Both become one `Profile`; `check_bag` compares it with the facts the validator gathered
(`BagFacts`) and returns problems. Nothing here reads the bag's payload.
"""
from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from archiver.problem_codes import problem
from archiver.problems import Problem
from archiver.schemas import load_json_schema, schema_path
from archiver.bagit.serialized import MIME_ALIASES

BAGIT_PROFILES = "bagit-profiles"
DART = "dart"
REPORT_PACKAGE_PROFILE = "report-package-profile.json"

# Files RFC 8493 itself defines; Tag-Files-Allowed constrains the others.
_RFC_TAG_FILE = re.compile(r"(bagit|bag-info|package-info|fetch)\.txt\Z|(tag)?manifest-[^/]+\.txt\Z")


class ProfileError(Exception):
    """The profile document itself is unusable; carries the problems found in it."""

    def __init__(self, source: str, problems: list[Problem]):
        super().__init__(f"{source}: " + "; ".join(p.message for p in problems[:3]))
        self.source = source
        self.problems = problems


@dataclass(frozen=True)
class TagRule:
    file: str
    name: str
    required: bool = False
    values: tuple[str, ...] = ()
    repeatable: bool = True
    empty_ok: bool = True
    recommended: bool = False


@dataclass
class Profile:
    identifier: str | None
    format: str
    source: str
    tags: list[TagRule] = field(default_factory=list)
    manifests_required: list[str] = field(default_factory=list)
    manifests_allowed: list[str] | None = None
    tag_manifests_required: list[str] = field(default_factory=list)
    tag_manifests_allowed: list[str] | None = None
    tag_files_required: list[str] = field(default_factory=list)
    tag_files_allowed: list[str] | None = None
    payload_files_required: list[str] = field(default_factory=list)
    payload_files_allowed: list[str] | None = None
    allow_fetch: bool = True
    fetch_required: bool = False
    data_empty: bool = False
    serialization: str = "optional"
    accept_serialization: list[str] = field(default_factory=list)
    accept_bagit_version: list[str] | None = None
    tar_dir_must_match_name: bool = False
    file_name_rule: str | None = None


@dataclass
class BagFacts:
    """What the validator learned about a bag, as the profile checks need it."""
    version: str | None
    bag_info: list[tuple[str, str]]
    payload_algorithms: list[str]
    tag_algorithms: list[str]
    tag_files: list[str]  # every file outside data/, bag-relative
    payload_files: dict[str, int]  # bag-relative path -> size
    has_fetch: bool
    read_tags: Callable[[str], list[tuple[str, str]] | None]  # tag file -> pairs (None: absent)
    serialization: str | None = None  # MIME type when the bag came as an archive
    archive_name: str | None = None
    archive_top: str | None = None


# -- loading -------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def report_package_profile() -> Profile:
    # loaded and schema-checked once per process, not once per bag (a third of the time
    # validating a small package took); a Profile is only ever read
    return load_profile(schema_path(REPORT_PACKAGE_PROFILE))


def load_profile(source: str | os.PathLike | dict | Profile) -> Profile:
    """Load and check a profile document; raise ProfileError with problems if unusable."""
    if isinstance(source, Profile):
        return source
    name = "profile" if isinstance(source, dict) else str(source)
    if isinstance(source, dict):
        document = source
    else:
        try:
            with open(source, "rb") as f:
                document = json.loads(f.read(16 << 20).decode("utf-8-sig"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
            raise ProfileError(name, [problem("PROFILE-UNREADABLE", name, f"cannot read the profile: {e}")])
    if isinstance(document, dict) and set(document) == {"bagItProfile"}:
        document = document["bagItProfile"]  # DART's export wrapper
    if not isinstance(document, dict):
        raise ProfileError(name, [problem("PROFILE-INVALID", name, "a profile is a JSON object")])
    if "BagIt-Profile-Info" in document:
        return _from_bagit_profiles(document, name)
    if "bagItProfileInfo" in document or "tags" in document or "acceptBagItVersion" in document:
        return _from_dart(document, name)
    raise ProfileError(name, [problem("PROFILE-INVALID", name,
                                      "neither a BagIt Profiles document (no BagIt-Profile-Info) "
                                      "nor a DART profile (no bagItProfileInfo/tags)")])


def _schema_problems(document: dict, schema: dict, name: str) -> list[Problem]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    out = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(document)"
        out.append(problem("PROFILE-INVALID", name, f"{where}: {error.message}"))
    return out


def _from_bagit_profiles(doc: dict, name: str) -> Profile:
    schema = load_json_schema("bagit-profile.schema.json")
    problems = _schema_problems(doc, schema, name)
    if problems:
        raise ProfileError(name, problems)
    info = doc["BagIt-Profile-Info"]
    tags = []
    for label, rule in doc.get("Bag-Info", {}).items():
        tags.append(TagRule("bag-info.txt", label, bool(rule.get("required", False)),
                            tuple(rule.get("values") or ()), bool(rule.get("repeatable", True)),
                            True, bool(rule.get("recommended", False))))
    profile = Profile(
        identifier=info.get("BagIt-Profile-Identifier"), format=BAGIT_PROFILES, source=name, tags=tags,
        manifests_required=_lower(doc.get("Manifests-Required", [])),
        manifests_allowed=_lower(doc["Manifests-Allowed"]) if "Manifests-Allowed" in doc else None,
        tag_manifests_required=_lower(doc.get("Tag-Manifests-Required", [])),
        tag_manifests_allowed=(_lower(doc["Tag-Manifests-Allowed"])
                               if "Tag-Manifests-Allowed" in doc else None),
        tag_files_required=list(doc.get("Tag-Files-Required", [])),
        tag_files_allowed=list(doc["Tag-Files-Allowed"]) if "Tag-Files-Allowed" in doc else None,
        payload_files_required=list(doc.get("Payload-Files-Required", [])),
        payload_files_allowed=(list(doc["Payload-Files-Allowed"])
                               if "Payload-Files-Allowed" in doc else None),
        allow_fetch=doc.get("Allow-Fetch.txt", True),
        fetch_required=doc.get("Fetch.txt-Required", False),
        data_empty=doc.get("Data-Empty", False),
        serialization=doc.get("Serialization", "optional"),
        accept_serialization=list(doc.get("Accept-Serialization", [])),
        accept_bagit_version=list(doc.get("Accept-BagIt-Version", [])) or None,
    )
    _check_consistency(profile, name)
    return profile


# DART's profile format, as DART 2 and dart-runner write it (only what validation reads).
_DART_SCHEMA = {
    "type": "object",
    "properties": {
        "acceptBagItVersion": {"type": "array", "items": {"type": "string"}},
        "acceptSerialization": {"type": "array", "items": {"type": "string"}},
        "allowFetchTxt": {"type": "boolean"},
        "bagItProfileInfo": {"type": "object",
                             "properties": {"bagItProfileIdentifier": {"type": "string"}}},
        "manifestsRequired": {"type": "array", "items": {"type": "string"}},
        "manifestsAllowed": {"type": "array", "items": {"type": "string"}},
        "tagManifestsRequired": {"type": "array", "items": {"type": "string"}},
        "tagManifestsAllowed": {"type": "array", "items": {"type": "string"}},
        "tagFilesAllowed": {"type": "array", "items": {"type": "string"}},
        "tagFilesRequired": {"type": "array", "items": {"type": "string"}},
        "serialization": {"enum": ["required", "optional", "forbidden"]},
        "tarDirMustMatchName": {"type": "boolean"},
        "fileNameRule": {"type": "string"},
        "tags": {"type": "array", "items": {
            "type": "object", "required": ["tagFile", "tagName"],
            "properties": {"tagFile": {"type": "string", "minLength": 1},
                           "tagName": {"type": "string", "minLength": 1},
                           "required": {"type": "boolean"},
                           "values": {"type": ["array", "null"], "items": {"type": "string"}},
                           "emptyOk": {"type": "boolean"}}}},
    },
    "required": ["tags"],
}


def _from_dart(doc: dict, name: str) -> Profile:
    problems = _schema_problems(doc, _DART_SCHEMA, name)
    if problems:
        raise ProfileError(name, problems)
    tags = [TagRule(t["tagFile"], t["tagName"], bool(t.get("required", False)), tuple(t.get("values") or ()),
                    True, bool(t.get("emptyOk", True)))
            for t in doc["tags"]]
    allowed = [p for p in doc.get("tagFilesAllowed", []) if p]
    profile = Profile(
        identifier=(doc.get("bagItProfileInfo") or {}).get("bagItProfileIdentifier") or None,
        format=DART, source=name, tags=tags,
        manifests_required=_lower(doc.get("manifestsRequired", [])),
        manifests_allowed=_lower(doc["manifestsAllowed"]) if doc.get("manifestsAllowed") else None,
        tag_manifests_required=_lower(doc.get("tagManifestsRequired", [])),
        tag_manifests_allowed=(_lower(doc["tagManifestsAllowed"])
                               if doc.get("tagManifestsAllowed") else None),
        tag_files_required=list(doc.get("tagFilesRequired", [])),
        tag_files_allowed=allowed or None,
        allow_fetch=doc.get("allowFetchTxt", False),  # DART's default is false
        serialization=doc.get("serialization", "optional"),
        accept_serialization=list(doc.get("acceptSerialization", [])),
        accept_bagit_version=list(doc.get("acceptBagItVersion", [])) or None,
        tar_dir_must_match_name=doc.get("tarDirMustMatchName", False),
        file_name_rule=doc.get("fileNameRule") or None,
    )
    if profile.file_name_rule and profile.file_name_rule.upper() not in FILE_NAME_RULES:
        try:
            re.compile(profile.file_name_rule)
        except re.error as e:
            raise ProfileError(name, [problem("PROFILE-INVALID", name,
                                              f"fileNameRule is not a known rule or a regular expression: {e}")])
    _check_consistency(profile, name)
    return profile


def _lower(values: list[str]) -> list[str]:
    return [v.lower() for v in values]


def _check_consistency(p: Profile, name: str) -> None:
    """Rules of the Profiles spec that span fields (1.4.0 §Implementation Details)."""
    problems = []
    if p.manifests_allowed is not None:
        for alg in p.manifests_required:
            if alg not in p.manifests_allowed:
                problems.append(f"Manifests-Required {alg} is not in Manifests-Allowed")
    if p.tag_manifests_allowed is not None:
        for alg in p.tag_manifests_required:
            if alg not in p.tag_manifests_allowed:
                problems.append(f"Tag-Manifests-Required {alg} is not in Tag-Manifests-Allowed")
    if p.tag_files_allowed is not None:
        for path in p.tag_files_required:
            if not _matches_any(path, p.tag_files_allowed):
                problems.append(f"Tag-Files-Required {path} is not covered by Tag-Files-Allowed")
    if p.payload_files_allowed is not None:
        for path in p.payload_files_required:
            probe = path + "x" if path.endswith("/") else path
            if not _matches_any(probe, p.payload_files_allowed):
                problems.append(f"Payload-Files-Required {path} is not covered by Payload-Files-Allowed")
    if p.fetch_required and not p.allow_fetch:
        problems.append("Fetch.txt-Required is true but Allow-Fetch.txt is false")
    if p.serialization == "required" and not p.accept_serialization:
        problems.append("Serialization is required but Accept-Serialization is empty")
    if problems:
        raise ProfileError(name, [problem("PROFILE-INVALID", name, m) for m in problems])


def _matches_any(path: str, patterns: list[str]) -> bool:
    # Profiles 1.4: "asterisks can represent zero or more characters" (glob(7)); '*' alone
    # allows everything, so it crosses '/' as well.
    return any(path == pat or fnmatchcase(path, pat) for pat in patterns)


# -- file-name rules (DART) -----------------------------------------------------------------
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_POSIX = re.compile(r"[A-Za-z0-9._-]+\Z")


def _rule_permissive(name: str) -> bool:
    return not _CONTROL.search(name)


def _rule_aptrust(name: str) -> bool:
    return _rule_permissive(name) and not name.startswith("-")


def _rule_posix(name: str) -> bool:
    return bool(_POSIX.match(name)) and not name.startswith("-")


FILE_NAME_RULES = {"PERMISSIVE": _rule_permissive, "APTRUST": _rule_aptrust, "POSIX": _rule_posix}


# -- checking a bag --------------------------------------------------------------------------
def check_bag(profile: Profile, facts: BagFacts) -> list[Problem]:
    """Every way the bag departs from the profile (never stops at the first)."""
    out: list[Problem] = []
    version_ok = profile.accept_bagit_version is None or facts.version in profile.accept_bagit_version
    if not version_ok:
        out.append(problem("PROFILE-BAGIT-VERSION", "bagit.txt",
                           f"BagIt-Version {facts.version} is not accepted by the profile "
                           f"(accepts {', '.join(profile.accept_bagit_version or [])})"))
    out += _check_identifier(profile, facts)
    out += _check_tags(profile, facts)
    out += _check_algorithms("PROFILE-MANIFEST", "manifest", facts.payload_algorithms,
                             profile.manifests_required, profile.manifests_allowed)
    out += _check_algorithms("PROFILE-TAGMANIFEST", "tagmanifest", facts.tag_algorithms,
                             profile.tag_manifests_required, profile.tag_manifests_allowed)
    out += _check_tag_files(profile, facts)
    out += _check_payload_files(profile, facts)
    if facts.has_fetch and not profile.allow_fetch:
        out.append(problem("PROFILE-FETCH-NOT-ALLOWED", "fetch.txt", "the profile does not allow fetch.txt"))
    if profile.fetch_required and not facts.has_fetch:
        out.append(problem("PROFILE-FETCH-REQUIRED", "fetch.txt", "the profile requires fetch.txt"))
    if profile.data_empty:
        sizes = list(facts.payload_files.values())
        if len(sizes) > 1 or (sizes and sizes[0] != 0):
            out.append(problem("PROFILE-DATA-NOT-EMPTY", "data",
                               f"the profile requires an empty payload; data/ holds {len(sizes)} "
                               f"file(s), {sum(sizes)} bytes"))
    out += _check_serialization(profile, facts)
    return out


def _check_identifier(profile: Profile, facts: BagFacts) -> list[Problem]:
    declared = [v for k, v in facts.bag_info if k.lower() == "bagit-profile-identifier"]
    if profile.format != BAGIT_PROFILES:
        return []
    if not declared:
        return [problem("PROFILE-IDENTIFIER-MISSING", "bag-info.txt",
                        f"bag-info.txt has no BagIt-Profile-Identifier (this profile is {profile.identifier})")]
    if profile.identifier and profile.identifier not in declared:
        return [problem("PROFILE-IDENTIFIER-MISMATCH", "bag-info.txt",
                        f"the bag declares {', '.join(declared)}; checked against {profile.identifier}")]
    return []


def _check_tags(profile: Profile, facts: BagFacts) -> list[Problem]:
    out: list[Problem] = []
    by_file: dict[str, list[TagRule]] = {}
    for rule in profile.tags:
        by_file.setdefault(rule.file, []).append(rule)
    for tag_file, rules in by_file.items():
        pairs = facts.bag_info if tag_file == "bag-info.txt" else facts.read_tags(tag_file)
        if pairs is None:
            if any(r.required for r in rules):
                names = ", ".join(r.name for r in rules if r.required)
                out.append(problem("PROFILE-TAG-FILE-MISSING", tag_file,
                                   f"{tag_file} is absent; the profile requires tags in it ({names})"))
            continue
        values_of: dict[str, list[str]] = {}
        for label, value in pairs:
            values_of.setdefault(label.lower(), []).append(value)
        for rule in rules:
            values = values_of.get(rule.name.lower(), [])
            if not values:
                if rule.required:
                    out.append(problem("PROFILE-TAG-MISSING", tag_file,
                                       f"{rule.name} is required in {tag_file}"))
                elif rule.recommended:
                    out.append(problem("PROFILE-TAG-RECOMMENDED", tag_file,
                                       f"{rule.name} is recommended in {tag_file}"))
                continue
            if len(values) > 1 and not rule.repeatable:
                out.append(problem("PROFILE-TAG-REPEATED", tag_file,
                                   f"{rule.name} appears {len(values)} times in {tag_file}; "
                                   "the profile allows it once"))
            for value in values:
                if not value:
                    if not rule.empty_ok:
                        out.append(problem("PROFILE-TAG-EMPTY", tag_file,
                                           f"{rule.name} in {tag_file} is empty; the profile requires a value"))
                    continue
                if rule.values and value not in rule.values:
                    out.append(problem("PROFILE-TAG-VALUE", tag_file,
                                       f"{rule.name} is {value!r} in {tag_file}; allowed: "
                                       f"{', '.join(rule.values)}"))
    return out


def _check_algorithms(prefix: str, kind: str, present: list[str], required: list[str],
                      allowed: list[str] | None) -> list[Problem]:
    out = []
    for alg in required:
        if alg not in present:
            out.append(problem(f"{prefix}-REQUIRED", f"{kind}-{alg}.txt",
                               f"the profile requires {kind}-{alg}.txt"))
    if allowed is not None:
        for alg in present:
            if alg not in allowed:
                out.append(problem(f"{prefix}-NOT-ALLOWED", f"{kind}-{alg}.txt",
                                   f"{kind}-{alg}.txt uses {alg}; the profile allows "
                                   f"{', '.join(allowed) or 'none'}"))
    return out


def _check_tag_files(profile: Profile, facts: BagFacts) -> list[Problem]:
    out = []
    present = set(facts.tag_files)
    for path in profile.tag_files_required:
        if path not in present:
            out.append(problem("PROFILE-TAG-FILE-REQUIRED", path, f"the profile requires the tag file {path}"))
    if profile.tag_files_allowed is not None:
        for path in facts.tag_files:
            if _RFC_TAG_FILE.match(path):
                continue
            if not _matches_any(path, profile.tag_files_allowed):
                out.append(problem("PROFILE-TAG-FILE-NOT-ALLOWED", path,
                                   f"tag file {path} matches none of {', '.join(profile.tag_files_allowed)}"))
    return out


def _check_payload_files(profile: Profile, facts: BagFacts) -> list[Problem]:
    out = []
    for path in profile.payload_files_required:
        if path.endswith("/"):
            found = any(p.startswith(path) for p in facts.payload_files)
        else:
            found = path in facts.payload_files
        if not found:
            out.append(problem("PROFILE-PAYLOAD-FILE-REQUIRED", path,
                               f"the profile requires {'a file under ' if path.endswith('/') else ''}{path}"))
    if profile.payload_files_allowed is not None:
        for path in facts.payload_files:
            if not _matches_any(path, profile.payload_files_allowed):
                out.append(problem("PROFILE-PAYLOAD-FILE-NOT-ALLOWED", path,
                                   f"payload file {path} matches none of "
                                   f"{', '.join(profile.payload_files_allowed)}"))
    if profile.file_name_rule:
        rule = FILE_NAME_RULES.get(profile.file_name_rule.upper())
        if rule is None:
            pattern = re.compile(profile.file_name_rule)
            rule = lambda name: bool(pattern.fullmatch(name))  # noqa: E731
        for path in facts.payload_files:
            for part in path.split("/")[1:]:
                if not rule(part):
                    out.append(problem("PROFILE-FILE-NAME", path,
                                       f"{part!r} breaks the profile's file-name rule {profile.file_name_rule}"))
                    break
    return out


def _check_serialization(profile: Profile, facts: BagFacts) -> list[Problem]:
    out = []
    if facts.serialization is None:
        if profile.serialization == "required":
            out.append(problem("PROFILE-SERIALIZATION-REQUIRED", "",
                               f"the profile requires a serialized bag "
                               f"({', '.join(profile.accept_serialization)}); this is a directory"))
        return out
    if profile.serialization == "forbidden":
        out.append(problem("PROFILE-SERIALIZATION-FORBIDDEN", "",
                           "the profile forbids serialized bags; this one is an archive"))
    elif profile.accept_serialization:
        names = MIME_ALIASES.get(facts.serialization, {facts.serialization})
        if not names & set(profile.accept_serialization):
            out.append(problem("PROFILE-SERIALIZATION-NOT-ACCEPTED", "",
                               f"{facts.serialization} is not accepted (accepts "
                               f"{', '.join(profile.accept_serialization)})"))
    if profile.tar_dir_must_match_name and facts.archive_name and facts.archive_top is not None:
        from archiver.bagit.serialized import archive_stem
        stem = archive_stem(facts.archive_name)
        if facts.archive_top != stem:
            out.append(problem("PROFILE-TAR-DIR-NAME", facts.archive_top,
                               f"{facts.archive_name} unpacks to {facts.archive_top}/; the profile "
                               f"requires {stem}/"))
    return out
