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
    assert "python -m pytest -n 2 --dist loadgroup --no-loadscope-reorder" in ci
    assert "pip install -q -e \".[test]\"" in ci and "ruff check" in ci and "mypy feeds dashboard layouts" in ci
