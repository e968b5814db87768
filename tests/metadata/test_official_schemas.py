"""Built metadata is valid against the project's schemas (always) and against the official
DCMI and PREMIS 3 XSDs when the development checkout has them beside it (../shared)."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from archiver.package.build import build
from archiver.schemas import schema_path
from archiver.validate import validate_bag

from seeds import EXAMPLES

OFFICIAL = Path(__file__).resolve().parents[3] / "shared" / "reference" / "xsd"
# schemaLocation URLs inside the official files, mapped to the local copies: never the network
LOCAL = {"xml.xsd": "xml.xsd", "xlink.xsd": "xlink.xsd", "dc.xsd": "dc.xsd",
         "dcterms.xsd": "dcterms.xsd", "dcmitype.xsd": "dcmitype.xsd"}


class _Local(etree.Resolver):
    def resolve(self, url, pubid, context):
        name = url.rsplit("/", 1)[-1]
        if name in LOCAL and not url.startswith(str(OFFICIAL)):
            return self.resolve_filename(str(OFFICIAL / LOCAL[name]), context)
        return None


def _schema(path: Path) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_Local())
    return etree.XMLSchema(etree.parse(str(path), parser))


@pytest.fixture(scope="module")
def packages(tmp_path_factory) -> list[Path]:
    """The seeds, one with a full sidecar and an operator, and one after a recorded validation."""
    work = tmp_path_factory.mktemp("official")
    report = work / "report.txt"
    report.write_bytes((EXAMPLES / "000_5ed87340bfc4ba71.txt").read_bytes() + b"\n")
    (work / "report.txt.meta.json").write_text(
        '{"source_url": "https://www.raqqa-sl.com/en/?p=1234", "publisher": "RBSS",'
        ' "creator": ["A. Writer"], "issued": "2015-11-19", "places": ["Raqqa, Syria"],'
        ' "subjects": ["internet"], "rights": "CC BY 4.0", "captured": "2016-01-05T10:00:00Z",'
        ' "capturing_agent": "wget"}', encoding="utf-8")
    out = work / "out"
    results = build([EXAMPLES, report], out, durable=False, jobs=1, agent="J. Doe")
    assert [r.status for r in results] == ["built"] * 4
    paths = [Path(r.path) for r in results]
    assert validate_bag(paths[0], record=True).recorded
    return paths


def _valid(schema: etree.XMLSchema, path: Path) -> None:
    assert schema.validate(etree.parse(str(path))), f"{path}: {schema.error_log}"


def test_project_schemas(packages):
    dc, premis = _schema(schema_path("archiver-dc.xsd")), _schema(schema_path("archiver-premis.xsd"))
    mets = _schema(schema_path("archiver-mets.xsd"))
    for package in packages:
        _valid(dc, package / "metadata/dc.xml")
        _valid(premis, package / "metadata/premis.xml")
        _valid(mets, package / "metadata/mets.xml")


@pytest.mark.skipif(not OFFICIAL.is_dir(), reason="official XSDs are in the development checkout only")
def test_official_schemas(packages):
    dc, premis = _schema(OFFICIAL / "qualifieddc.xsd"), _schema(OFFICIAL / "premis-v3-0.xsd")
    for package in packages:
        _valid(dc, package / "metadata/dc.xml")
        _valid(premis, package / "metadata/premis.xml")
    # METS with the DCMI terms loaded, so the embedded record's xsi:types resolve
    wrapper = packages[0].parent / "mets-and-dcterms.xsd"
    wrapper.write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        f'<xs:import namespace="http://www.loc.gov/METS/" schemaLocation="{OFFICIAL / "mets-1-12-1.xsd"}"/>'
        f'<xs:import namespace="http://purl.org/dc/terms/" schemaLocation="{OFFICIAL / "dcterms.xsd"}"/>'
        '</xs:schema>', encoding="utf-8")
    mets = _schema(wrapper)
    for package in packages:
        _valid(mets, package / "metadata/mets.xml")
    recorded = (packages[0] / "metadata/premis.xml").read_text(encoding="utf-8")
    assert "eventType/fix" in recorded
