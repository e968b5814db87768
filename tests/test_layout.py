"""The tree reads as the flow: every import points down the stages, never up."""
from __future__ import annotations

import ast
from pathlib import Path

ARCHIVER = Path(__file__).resolve().parents[1] / "archiver"

# lower numbers are further down; a module may import its own stage and those below it
STAGES = {
    "model": 0, "problems": 0, "problem_codes": 0, "config": 0, "schemas": 0, "fixity": 0,
    "durable": 0, "executor": 0, "limits": 0, "paths": 0, "urls": 0,
    "extract": 1, "metadata": 1,
    "bagit": 2,
    "package": 3,
    "evidence": 4,  # validate verifies seals, so evidence sits below it
    "validate": 5,
    "deposit": 6,
    "audit": 7,
    "serve": 8,
    "cli": 9, "__main__": 9,
}


def _stage(dotted: str) -> int | None:
    parts = dotted.split(".")
    if parts[0] != "archiver" or len(parts) == 1:
        return None  # `from archiver import __version__` and the like: the package itself
    return STAGES[parts[1]]


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_every_module_has_a_stage():
    for path in ARCHIVER.iterdir():
        if path.name != "__init__.py" and not path.name.startswith((".", "__pycache__")):
            assert path.stem in STAGES, f"archiver/{path.name} has no stage in this test"


def test_no_module_imports_a_stage_above_its_own():
    upward = []
    for path in sorted(ARCHIVER.rglob("*.py")):
        rel = path.relative_to(ARCHIVER.parent).with_suffix("")
        own = _stage(".".join(p for p in rel.parts if p != "__init__"))
        if own is None:
            continue
        upward += [f"{path.relative_to(ARCHIVER.parent)} imports {name}" for name in _imports(path)
                   if (stage := _stage(name)) is not None and stage > own]
    assert upward == []
