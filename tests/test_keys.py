"""Every key family says which partition it belongs to, and its keys carry that partition's hash tag."""

from __future__ import annotations

import inspect
import re

import pytest
from redis.crc import key_slot

from dashboard.contract.keys import GLOBAL_TAG, Keys

KEYS = Keys("pk", "445300")
DISTRICT = "445302"
TAG = re.compile(r"\{([^}]*)\}")
HELPERS = {"all_patterns", "from_settings"}


def families() -> dict[str, object]:
    return {name: member for name, member in vars(Keys).items()
            if not name.startswith("_") and name not in HELPERS and (callable(member) or isinstance(member, property))}


def key_of(name: str) -> str:
    member = getattr(KEYS, name)
    if not callable(member):
        return member
    args = ["district" if p in ("scope",) else p for p in inspect.signature(member).parameters]
    return member(*[DISTRICT if a == "district" else 3 if a in ("i", "j") else f"x{a}" for a in args])


def partition_of(member: object) -> str | None:
    fn = member.fget if isinstance(member, property) else member
    return getattr(fn, "partition", None)


@pytest.mark.parametrize("name", sorted(families()))
def test_every_family_declares_its_partition_and_its_keys_carry_its_tag(name):
    partition = partition_of(families()[name])
    assert partition in ("city", "district", "global"), f"Keys.{name} says nothing about its partition"
    key = key_of(name)
    tags = TAG.findall(key)
    assert len(tags) == 1, f"Keys.{name}: {key!r} should hold exactly one hash tag"
    expected = {"city": KEYS.city, "district": DISTRICT, "global": GLOBAL_TAG}[partition]
    assert tags[0] == expected, f"Keys.{name} ({partition}): {key!r}"
    assert key.startswith(KEYS.prefix + ":")


def test_a_family_that_says_nothing_fails():
    class Careless(Keys):
        def stray(self, x: str) -> str:
            return f"{self.prefix}:stray:{x}"

    assert partition_of(vars(Careless)["stray"]) is None


def test_a_feeds_keys_share_the_slot_of_the_stream_it_writes():
    for feed in ("12345", "110", "qx", "yj"):
        slot = key_slot(KEYS.stream(feed).encode())
        for other in (KEYS.cursor(feed), KEYS.seen(feed), KEYS.counters(feed), KEYS.health(feed),
                      KEYS.lease(feed), KEYS.files(feed), KEYS.dead):
            assert key_slot(other.encode()) == slot, other


def test_the_citys_streams_and_live_state_share_one_slot_and_cities_differ():
    """One blocking read over every stream of a city, and one transaction over its state, are legal in
    a Cluster; another city's keys fall elsewhere."""
    slots = {key_slot(k.encode()) for k in (KEYS.stream("12345"), KEYS.stream("110"), KEYS.case("c"),
                                             KEYS.version, KEYS.markers, KEYS.em("storm"))}
    assert len(slots) == 1
    assert key_slot(Keys("pk", "440700").stream("12345").encode()) not in slots


def test_a_scopes_snapshot_keys_share_a_slot():
    keys = {KEYS.snapshot("wall", DISTRICT), KEYS.snapshot_log("wall", DISTRICT),
            KEYS.snapshot_log_id("wall-map", DISTRICT)}
    assert len({key_slot(k.encode()) for k in keys}) == 1


def test_keys_from_settings_carry_the_city(settings):
    assert Keys.from_settings(settings.model_copy(update={"city_adcode": "445300"})).stream("a").count("{445300}") == 1
