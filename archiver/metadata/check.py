"""The package metadata rules: what `validate` checks in an archiver package's metadata/.

dc.xml and premis.xml must be well-formed and valid against the project's own XSDs
(schemas/archiver-dc.xsd, schemas/archiver-premis.xsd, strict subsets of the official DCMI and
PREMIS 3 schemas), report.json valid against schemas/report.schema.json, and all three must
agree with the bag: the same package identifier, and PREMIS fixity equal to the manifests.
mets.xml, where present, is held to schemas/archiver-mets.xsd and to the payload likewise.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from archiver.metadata.dc import DCTERMS
from archiver.metadata.mets import METS as METS_NS, XLINK as XLINK_NS
from archiver.metadata.premis import NS as PREMIS_NS, object_fixity
from archiver.metadata.report_json import fits_schema
from archiver.metadata.vocabulary import HASH_LABELS
from archiver.problem_codes import problem
from archiver.problems import Problem
from archiver.schemas import load_json_schema, schema_path

DC_XML, PREMIS_XML, REPORT_JSON = "metadata/dc.xml", "metadata/premis.xml", "metadata/report.json"
METS_XML = "metadata/mets.xml"  # optional
MAX_ERRORS = 5  # schema errors listed per file; the rest are counted


@cache
def _xml_schema(name: str) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(schema_path(name)), parser))


def _parse(path: Path) -> etree._ElementTree:
    # a package's XML is untrusted input: no DTD, no entities, no network
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False)
    return etree.parse(str(path), parser)


def _schema_problems(tree: etree._ElementTree, schema: str, rel: str, code: str) -> list[Problem]:
    xsd = _xml_schema(schema)
    if xsd.validate(tree):
        return []
    errors = list(xsd.error_log)
    found = [problem(code, rel, f"line {e.line}: {e.message} (schemas/{schema})")
             for e in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        found.append(problem(code, rel, f"{len(errors) - MAX_ERRORS} more schema error(s)"))
    return found


def _missing(rel: str) -> Problem:
    return problem("PACKAGE-METADATA-MISSING", rel, "missing or not a regular file in the bag: every "
                   "archiver package carries dc.xml, premis.xml and report.json in metadata/")


def _locate(bag: Path, rel: str, readable: Mapping[str, str] | None) -> Path | None:
    """The file to open for `rel`, or None; with `readable`, only what the validator's walk
    found safe to open (no links out of the bag, no devices)."""
    if readable is not None:
        return Path(readable[rel]) if rel in readable else None
    path = bag / rel
    return path if path.is_file() and not path.is_symlink() else None


def _load_xml(bag: Path, rel: str, schema: str, code: str, readable: Mapping[str, str] | None
              ) -> tuple[etree._ElementTree | None, list[Problem]]:
    path = _locate(bag, rel, readable)
    if path is None:
        return None, [_missing(rel)]
    try:
        tree = _parse(path)
    except (etree.XMLSyntaxError, OSError) as e:
        return None, [problem("PACKAGE-XML-MALFORMED", rel, f"not well-formed XML: {e}")]
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        return None, [problem("PACKAGE-XML-MALFORMED", rel, "declares a DOCTYPE: archiver metadata "
                              "never does, and its entities are not expanded")]
    return tree, _schema_problems(tree, schema, rel, code)


def _check_dc(tree: etree._ElementTree, external_id: str | None) -> Iterator[Problem]:
    root = tree.getroot()
    titles = root.findall(f"{{{DCTERMS}}}title")
    if not any((t.text or "").strip() for t in titles):
        yield problem("PACKAGE-DC-INVALID", DC_XML, "no dcterms:title: the record must name the report")
    identifiers = [i.text for i in root.findall(f"{{{DCTERMS}}}identifier")]
    if not identifiers:
        yield problem("PACKAGE-DC-INVALID", DC_XML, "no dcterms:identifier: the record must name the package")
    elif external_id and external_id not in identifiers:
        yield problem("PACKAGE-IDENTIFIER-MISMATCH", DC_XML,
                      f"dcterms:identifier {', '.join(map(str, identifiers))} is not the bag's "
                      f"External-Identifier {external_id}")


def _check_premis(tree: etree._ElementTree, manifests: Mapping[str, Mapping[str, str]],
                  payload: set[str]) -> Iterator[Problem]:
    described = object_fixity(tree.getroot())  # the tree as parsed: no second parse
    for path in sorted(payload - set(described)):
        yield problem("PACKAGE-PREMIS-OBJECT-MISSING", PREMIS_XML,
                      f"{path}: payload file has no PREMIS object")
    for path in sorted(set(described) - payload):
        yield problem("PACKAGE-PREMIS-OBJECT-MISSING", PREMIS_XML,
                      f"{path}: PREMIS describes a file that is not in the payload")
    for path in sorted(set(described) & payload):
        for alg, entries in sorted(manifests.items()):
            label = HASH_LABELS.get(alg)
            recorded, listed = described[path].get(label or ""), entries.get(path)
            if recorded and listed and recorded.lower() != listed.lower():
                yield problem("PACKAGE-PREMIS-FIXITY-MISMATCH", PREMIS_XML,
                              f"{path}: {label} in PREMIS is {recorded[:12]}…, "
                              f"manifest-{alg}.txt says {listed[:12]}…")


def _check_mets(tree: etree._ElementTree, manifests: Mapping[str, Mapping[str, str]],
                payload: set[str], external_id: str | None) -> Iterator[Problem]:
    ns = {"mets": METS_NS, "xlink": XLINK_NS}
    root = tree.getroot()
    if external_id and root.get("OBJID") != external_id:
        yield problem("PACKAGE-IDENTIFIER-MISMATCH", METS_XML,
                      f"OBJID {root.get('OBJID')} is not the bag's External-Identifier {external_id}")
    listed = {}
    for entry in root.iterfind("mets:fileSec/mets:fileGrp/mets:file", ns):
        locat = entry.find("mets:FLocat", ns)
        href = unquote(locat.get(f"{{{XLINK_NS}}}href", "")) if locat is not None else ""
        listed[href.removeprefix("../")] = entry.get("CHECKSUM")
    for path in sorted(payload - set(listed)):
        yield problem("PACKAGE-METS-FILE", METS_XML, f"{path}: payload file missing from the fileSec")
    for path in sorted(set(listed) - payload):
        yield problem("PACKAGE-METS-FILE", METS_XML, f"{path}: listed in the fileSec but not in the payload")
    sha256 = manifests.get("sha256", {})
    for path in sorted(set(listed) & payload):
        if listed[path] and sha256.get(path) and listed[path].lower() != sha256[path]:
            yield problem("PACKAGE-METS-FILE", METS_XML,
                          f"{path}: SHA-256 in METS is {listed[path][:12]}…, "
                          f"manifest-sha256.txt says {sha256[path][:12]}…")


def _check_report_json(bag: Path, external_id: str | None,
                       readable: Mapping[str, str] | None) -> Iterator[Problem]:
    path = _locate(bag, REPORT_JSON, readable)
    if path is None:
        yield _missing(REPORT_JSON)
        return
    try:
        document = json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, OSError) as e:
        yield problem("PACKAGE-REPORT-JSON-INVALID", REPORT_JSON, f"not UTF-8 JSON: {e}")
        return
    errors = [] if fits_schema(document) else _reference_errors(document)
    for e in errors[:MAX_ERRORS]:
        where = "/".join(map(str, e.absolute_path)) or "(document)"
        yield problem("PACKAGE-REPORT-JSON-INVALID", REPORT_JSON,
                      f"{where}: {e.message} (schemas/report.schema.json)")
    package_id = document.get("package_id") if isinstance(document, dict) else None
    if external_id and package_id and package_id != external_id:
        yield problem("PACKAGE-IDENTIFIER-MISMATCH", REPORT_JSON,
                      f"package_id {package_id} is not the bag's External-Identifier {external_id}")


def _reference_errors(document) -> list:
    """jsonschema's account of a document the compiled schema refused (the reference)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_json_schema("report.schema.json"))
    return sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))


def check_package_metadata(bag_dir: str | os.PathLike,
                           manifests: Mapping[str, Mapping[str, str]] | None = None,
                           payload: set[str] | None = None,
                           external_id: str | None = None,
                           readable: Mapping[str, str] | None = None,
                           trees: dict | None = None) -> list[Problem]:
    """Every problem with the metadata of the archiver package at `bag_dir`.

    `manifests` maps each payload manifest algorithm to {path: digest} and `payload` holds
    the payload paths found on disk (both as the validator read them); without them the
    PREMIS objects are not compared with the bag. `external_id` is bag-info's
    External-Identifier. `readable` maps tag paths to the files safe to open (the validator's
    walk); without it, regular files under `bag_dir` are read and symbolic links are not.
    `trees`, when given, gets the root element of premis.xml as parsed (a deposit takes its
    fingerprint and need not parse it again).
    """
    bag = Path(bag_dir)
    problems: list[Problem] = []
    dc, found = _load_xml(bag, DC_XML, "archiver-dc.xsd", "PACKAGE-DC-INVALID", readable)
    problems += found
    if dc is not None:
        problems += _check_dc(dc, external_id)
    premis, found = _load_xml(bag, PREMIS_XML, "archiver-premis.xsd", "PACKAGE-PREMIS-INVALID",
                              readable)
    problems += found
    if premis is not None and trees is not None:
        trees[PREMIS_XML] = premis.getroot()
    if premis is not None and premis.getroot().tag == f"{{{PREMIS_NS}}}premis" and payload is not None:
        problems += _check_premis(premis, manifests or {}, payload)
    problems += _check_report_json(bag, external_id, readable)
    if _locate(bag, METS_XML, readable) is not None:
        mets, found = _load_xml(bag, METS_XML, "archiver-mets.xsd", "PACKAGE-METS-INVALID", readable)
        problems += found
        if mets is not None and not found and payload is not None:
            problems += _check_mets(mets, manifests or {}, payload, external_id)
    return problems
