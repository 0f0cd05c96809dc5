"""ruff (with the complexity cap in pyproject.toml) is part of the test run."""

import shutil
import subprocess

from tests.conftest import REPO


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(REPO / ".venv" / "bin" / "ruff")
    res = subprocess.run([ruff, "check", "feeds", "dashboard", "layouts", "tests"], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def test_mypy_is_clean_on_feeds_and_live_state():
    mypy = shutil.which("mypy") or str(REPO / ".venv" / "bin" / "mypy")
    res = subprocess.run([mypy, "feeds", "dashboard", "layouts"], cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
