"""The renderers' unit tests (assets/**/*.test.mjs) run with Node's own test runner: no npm
package, no build step. They read the fixtures tests/test_board_fixtures.py keeps equal to what the
builders produce."""

import shutil
import subprocess

from tests.conftest import REPO


def test_the_renderers_unit_tests_pass_under_node():
    node = shutil.which("node")
    assert node, "the renderers' unit tests need Node.js 20 or later on PATH (.ci/run installs it when missing)"
    res = subprocess.run([node, "--test", "assets/"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    passed = [ln for ln in res.stdout.splitlines() if ln.startswith("# pass ")]
    assert passed and int(passed[-1].split()[-1]) >= 60, res.stdout[-1000:]
