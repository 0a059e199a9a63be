"""Imports run one way: web, cli → service → engine → model; only matcher imports durable-rules."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "transfer_gate"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
                pkg = parts[: len(parts) - node.level]
                base = ".".join(pkg + ((base,) if base else ()))
            names.add(base)
            names |= {f"{base}.{a.name}" for a in node.names}
    return names


MODULES = {p: imports_of(p) for p in PACKAGE.rglob("*.py")}


def module(path):
    name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return name.removesuffix(".__init__")


def test_only_the_matcher_imports_durable_rules():
    users = sorted(module(p) for p, names in MODULES.items() if any(n.startswith("durable") for n in names))
    assert users == ["transfer_gate.matcher"]


def test_the_core_knows_nothing_of_flask_or_the_database():
    core = ["engine", "model", "rules", "facts", "taxonomy", "citations", "profiles", "matcher", "scenarios"]
    for name in core:
        names = MODULES[PACKAGE / f"{name}.py"]
        bad = {n for n in names if n.split(".")[0] in ("flask", "sqlalchemy", "werkzeug", "psycopg")}
        assert bad == set(), f"{name} imports {bad}"


def test_the_engine_does_not_import_the_matcher_it_is_handed():
    assert not any("matcher" in n for n in MODULES[PACKAGE / "engine.py"])


def test_no_arrow_runs_backwards_into_web_or_cli():
    for path, names in MODULES.items():
        mod = module(path)
        if mod.startswith(("transfer_gate.web", "transfer_gate.cli")) or mod == "transfer_gate":
            continue
        back = {n for n in names if n.startswith(("transfer_gate.web", "transfer_gate.cli"))}
        assert back == set(), f"{mod} imports {back}"
