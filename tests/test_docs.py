"""The documentation stays honest: every setting is documented, CI runs the README's test command."""

import re

from feeds.settings import Settings
from tests.conftest import REPO


def test_every_setting_is_documented():
    readme = (REPO / "README.md").read_text("utf-8")
    documented = set(re.findall(r"^\| `([a-z_0-9]+)` \|", readme, re.M))
    assert set(Settings.model_fields) == documented


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text("utf-8")
    block = readme.split("## Run the tests", 1)[1].split("```bash", 1)[1].split("```", 1)[0].strip()
    cmd = block.split("&&")[-1].strip()
    assert cmd.startswith("python -m pytest")
    assert cmd in (REPO / ".ci" / "run").read_text()
