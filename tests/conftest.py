"""Shared fixtures: a real Redis with an isolated key prefix (cleaned before and after), settings
pointing at it, and the path of ../shared/data."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from dashboard.contract.keys import Keys
from dashboard.contract.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
REDIS_URL = os.environ.get("PINGAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`--dist loadgroup` must really group: the browser tests each start a whole pipeline, and two at
    once on two cores make latency figures measure each other. pytest 9.2.0 silently stopped
    xdist's grouping (pytest-dev/pytest-xdist#1386: the `@group` nodeid suffix no longer takes), so
    grouped tests that were not grouped fail, saying why, rather than run flaky."""
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
