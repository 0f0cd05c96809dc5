"""Shared fixtures: a real Redis with an isolated key prefix (cleaned before and after), settings
pointing at it, and the path of ../shared/data."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from dashboard.contract.keys import Keys
from dashboard.contract.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
REDIS_URL = os.environ.get("PINGAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Argon2 at OWASP's floor (19 MiB, 2 passes, 1 lane) for every account the tests and their processes make:
# the production default costs ~0.2 s of CPU a hash, and the suite makes and checks hundreds
for _name, _value in (("MEMORY_KIB", "19456"), ("TIME_COST", "2"), ("PARALLELISM", "1")):
    os.environ.setdefault(f"PINGAN_PASSWORD_HASH_{_name}", _value)

# Hypothesis: `ci` (the default) is derandomised, so a run on main fails or passes the same way every
# time; `thorough` (HYPOTHESIS_PROFILE=thorough) draws ten times the examples, at random, to look
# for new failures. Each property's own budget goes through `examples()`.
THOROUGH_FACTOR = 10
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                                     suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.register_profile("thorough", deadline=None, print_blob=True,
                                     suppress_health_check=[HealthCheck.too_slow])
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
hypothesis_settings.load_profile(PROFILE)


def examples(n: int) -> int:
    """A property's example budget under the loaded profile."""
    return n * THOROUGH_FACTOR if PROFILE == "thorough" else n


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest work first (browser modules, then whole pipelines): with `--dist loadgroup
    --no-loadscope-reorder` xdist hands out work in this order, so no long module starts last.

    `--dist loadgroup` must really group: a module whose tests share one expensive module fixture
    (a whole pipeline, a replayed scenario) is one group, built once on one worker. pytest 9.2.0
    silently stopped xdist's grouping (pytest-dev/pytest-xdist#1386: the `@group` nodeid suffix no
    longer takes), so grouped tests that were not grouped fail, saying why, rather than build their
    fixture on every worker."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("browser") else 1 if item.get_closest_marker("slow")
               else 2)  # stable: collection order within each
    if not getattr(config.option, "loadgroup", False):  # set on xdist's workers under --dist loadgroup
        return
    for item in items:
        if item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
            item.add_marker(pytest.mark.ungrouped)


@pytest.fixture(autouse=True)
def _refuse_ungrouped(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("ungrouped"):
        pytest.fail(f"--dist loadgroup did not group this test (pytest {pytest.__version__}, see "
                    "pytest-xdist#1386): install the pytest that pyproject.toml allows", pytrace=False)


def _wipe(r: redis.Redis, prefix: str) -> None:
    keys = list(r.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        r.delete(*keys)


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def r(prefix: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail(f"tests need a real Redis at {REDIS_URL} (set PINGAN_TEST_REDIS_URL)")
    _wipe(client, prefix)
    yield client
    _wipe(client, prefix)
    client.close()


@pytest.fixture
def keys(prefix: str) -> Keys:
    return Keys(prefix)


@pytest.fixture
def settings(prefix: str, tmp_path: Path) -> Settings:
    return Settings(redis_url=REDIS_URL, key_prefix=prefix, data_dir=tmp_path / "var",
                    http_timeout_s=2, lease_ttl_s=2, backoff_max_s=2)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real samples not found at {SHARED_DATA}")
    return SHARED_DATA
