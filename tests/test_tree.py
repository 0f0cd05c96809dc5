"""The folder tree shows the processes: no product process imports the simulator, the benchmarks
or the demo; no two modules share a name unless they are the two sides of one format; no two
product classes share a name."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dashboard", "feeds", "layouts")
TOOLING = ("feeds.simulator", "dashboard.bench", "dashboard.demo")
PROCESSES = ("feeds.ingest", "dashboard.live.worker", "dashboard.live.rebuild", "dashboard.web.serve",
             "dashboard.web.app", "dashboard.cli", "dashboard.boards")


def modules() -> list[Path]:
    return [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if p.name != "__init__.py"]


@pytest.mark.parametrize("module", PROCESSES)
def test_a_process_never_imports_the_simulator_benchmarks_or_demo(module):
    code = f"import sys, {module}; print(sorted(n for n in sys.modules if n.startswith({TOOLING!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]", f"{module} imports {out.stdout.strip()}"


def test_module_names_are_unique_but_for_the_two_sides_of_a_format():
    by_name: dict[str, list[Path]] = defaultdict(list)
    for p in modules():
        by_name[p.stem].append(p.relative_to(ROOT))
    adapters = {p.stem for p in (ROOT / "feeds/adapters").glob("*.py")}
    writers = {p.stem for p in (ROOT / "feeds/simulator/formats").glob("*.py")}
    for name, paths in by_name.items():
        if len(paths) == 1:
            continue
        pair = sorted(str(p.parent) for p in paths) == ["feeds/adapters", "feeds/simulator/formats"]
        assert pair and name in adapters & writers, f"modules named {name}: {[str(p) for p in paths]}"


def test_product_classes_have_one_name_each():
    """The simulator may model what a snapshot also names (a storm, a closure); product code may not
    say one name twice (two classes named Clock were two meanings for one word)."""
    seen: dict[str, list[str]] = defaultdict(list)
    for p in modules():
        rel = p.relative_to(ROOT)
        if str(rel).startswith("feeds/simulator/"):
            continue
        for node in ast.parse(p.read_text("utf-8")).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                seen[node.name].append(str(rel))
    assert {k: v for k, v in seen.items() if len(v) > 1} == {}
