"""The renderers' fixtures (assets/boards/fixtures/, read by `node --test`) are what the product
builds: rebuilt here from the same events by the real builders and layouts, they must equal what is
committed, and each must be valid for its model. A renamed or retyped field fails here, in seconds,
not in a browser run. After a deliberate change: `python -m tests.board_fixtures`, then review the
diff of the fixtures and the renderers' tests."""

from __future__ import annotations

import orjson
import pytest

from dashboard.boards import REGISTRY
from dashboard.live.ondemand import CaseLife, CaseList
from tests.board_fixtures import FIXTURES, build, dumps

REWRITE = "python -m tests.board_fixtures"


@pytest.fixture(scope="module")
def built():
    import redis

    from tests.conftest import REDIS_URL

    client = redis.Redis.from_url(REDIS_URL)
    try:
        return build(client)
    finally:
        client.close()


def test_every_fixture_is_committed_and_nothing_else(built):
    assert {p.stem for p in FIXTURES.glob("*.json")} == set(built), f"run `{REWRITE}`"


@pytest.mark.parametrize("stem", sorted({p.stem for p in FIXTURES.glob("*.json")}))
def test_the_fixture_is_what_the_product_builds(built, stem):
    committed = orjson.loads((FIXTURES / f"{stem}.json").read_bytes())
    assert dumps(built[stem]) == dumps(committed), f"{stem}: the builders changed; run `{REWRITE}` and review"


PLACES_API = {"case-list": CaseList, "case-life": CaseLife}  # what the tablet reads besides snapshots


@pytest.mark.parametrize("stem", sorted(p.stem for p in FIXTURES.glob("*.json")
                                        if not p.stem.endswith((".frame", ".config"))))
def test_the_fixture_is_valid_for_its_model(stem):
    name = stem.split(".")[0]
    model = PLACES_API.get(name) or REGISTRY.snapshots[name].model
    model.model_validate_json((FIXTURES / f"{stem}.json").read_bytes())
