"""The documentation stays honest: every setting is documented, CI runs the README's test command."""

import re

from dashboard.contract.settings import Settings
from tests.conftest import REPO


def test_every_setting_is_documented():
    readme = (REPO / "README.md").read_text("utf-8")
    documented = set(re.findall(r"^\| `([a-z_0-9]+)` \|", readme, re.M))
    assert set(Settings.model_fields) == documented


def test_the_readme_test_command_is_what_ci_runs():
    readme = (REPO / "README.md").read_text("utf-8")
    block = readme.split("## Run the tests", 1)[1].split("```bash", 1)[1].split("```", 1)[0].strip()
    assert block == "bash .ci/run", "CI runs .ci/run on a fresh clone: a new user runs the same"
    ci = (REPO / ".ci" / "run").read_text()
    assert "python -m pytest -n 3 --dist loadgroup --no-loadscope-reorder" in ci
    assert "pip install -q -e \".[test]\"" in ci and "ruff check" in ci and "mypy feeds dashboard layouts" in ci


def test_every_decision_record_is_in_the_index():
    index = (REPO / "docs" / "README.md").read_text("utf-8")
    records = sorted(p.name for p in (REPO / "docs" / "decisions").glob("*.md"))
    assert records and [r for r in records if f"decisions/{r}" not in index] == []
    numbers = [r[:3] for r in records]
    assert numbers == [f"{i:03d}" for i in range(1, len(records) + 1)], "numbered 001, 002, … without gaps"


def test_the_paths_the_design_documents_name_exist():
    """A file or folder the current-state documents name (in backticks) is in the repository;
    placeholders such as `<board>` and wildcards are skipped. (Decision records and benchmark
    results are history: they may name files since removed.)"""
    named = set()
    for doc in (REPO / "docs" / "architecture.md", REPO / "docs" / "known-issues.md", REPO / "README.md"):
        for path in re.findall(r"`((?:dashboard|feeds|layouts|assets|tests|docs)/[^`\s]*)`", doc.read_text("utf-8")):
            if not re.search(r"[<>*{}]", path):
                named.add(path.rstrip("/.,:;").split("::")[0])
    missing = sorted(p for p in named if not (REPO / p).exists())
    assert named and missing == [], missing
