"""Every real sample in ../shared/data/{cap,open311,typhoon} either parses or is rejected with a
reason that names the field — through the same pipeline the pollers use."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.contract.event import Event
from feeds.adapters.base import Reject
from feeds.adapters.mapping import compile_mapping, resolve_mapping
from feeds.pipeline import Pipeline
from tests.conftest import SHARED_DATA
from tests.contract import FIELD_REASON

FOLDERS = ("cap", "open311", "typhoon")


def _adapter(path: Path) -> tuple[str, dict]:
    opts: dict = {"source": "file", "datum": "wgs84"}
    if path.suffix == ".geojson":
        return "json", {**opts, "mapping": compile_mapping(resolve_mapping("jma_track_geojson"))}
    if path.suffix == ".csv":
        return "csv", opts
    if path.suffix == ".txt":
        return "cma-bst", opts
    if "typhoon" in path.parts:
        return "typhoon-json", opts
    if "open311" in path.parts:
        return "open311", opts
    return "cap", opts


SAMPLES = sorted(p for f in FOLDERS for p in (SHARED_DATA / f).rglob("*") if p.is_file()) \
    if SHARED_DATA.is_dir() else []


@pytest.mark.skipif(not SAMPLES, reason=f"real samples not found at {SHARED_DATA}")
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: str(p.relative_to(SHARED_DATA)))
def test_sample_parses_or_is_rejected_naming_the_field(path: Path):
    adapter, opts = _adapter(path)
    items = list(Pipeline("440700").run(adapter, path.read_bytes(), opts))
    assert items, f"{path.name}: nothing came out"
    for item in items:
        if isinstance(item, Reject):
            assert FIELD_REASON.match(item.reason), item.reason
        else:
            assert isinstance(item, Event)


def test_the_expected_outcomes():
    if not SAMPLES:
        pytest.skip("no samples")
    outcome = {}
    for path in SAMPLES:
        adapter, opts = _adapter(path)
        items = list(Pipeline("440700").run(adapter, path.read_bytes(), opts))
        outcome[path.relative_to(SHARED_DATA).as_posix()] = sum(isinstance(i, Event) for i in items)
    # the JMA CSVs carry no storm id or single time column: every row is rejected, naming case_id
    assert all(n == 0 for p, n in outcome.items() if p.startswith("typhoon/nii_jma_csv/")), outcome
    # the Open311 service lists are not requests: rejected record by record
    assert all(n == 0 for p, n in outcome.items() if "services" in p or p.endswith("service_list.json"))
    others = {p: n for p, n in outcome.items()
              if not p.startswith("typhoon/nii_jma_csv/") and "services" not in p and "service_list" not in p}
    assert others and all(n > 0 for n in others.values()), {p: n for p, n in others.items() if n == 0}
