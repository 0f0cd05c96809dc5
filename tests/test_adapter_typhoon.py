"""Typhoon adapters: every CMA best-track file and operational track JSON in ../shared/data/typhoon,
Mangkhut (2018) seen by both, rejects naming the field, and fuzzing that proves bad input never raises."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.contract.event import Event
from feeds.adapters.base import Parsed, Reject, normalise
from feeds.adapters.typhoon import parse_bst, parse_json
from tests.conftest import examples

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BST_DIR = DATA / "typhoon" / "cma_bst"
JSON_DIR = DATA / "typhoon" / "wztf_realtime_json"
OPTS = {"source": "tf", "datum": "wgs84"}
FUZZ = settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
NO_DATA = pytest.mark.skip(reason=f"shared sample data not found at {DATA} (is ../shared checked out?)")

BST_FILES = sorted(BST_DIR.glob("*.txt")) if BST_DIR.is_dir() else []
JSON_FILES = sorted(JSON_DIR.glob("*.json")) if JSON_DIR.is_dir() else []

# near Taishan, where Mangkhut made landfall on 2018-09-16 17:00 Beijing time (09 UTC)
TAISHAN_LAT, TAISHAN_LON = (21.0, 23.0), (111.5, 113.5)
MANGKHUT_LANDFALL = datetime(2018, 9, 16, 9, tzinfo=UTC)

BST_SAMPLE = """66666 2203   5 0004 2203 0 6 Chaba                              20230324
2022063000 1 169 1139  996      15
2022070100 3 191 1128  982      28
2022070200 4 206 1118  965      35
2022070206 4 213 1112  965      35
2022070212 9 218 1107  975      30
"""
JSON_POINT = {
    "time": "2022-07-02T15:00:00", "lng": 111.1, "lat": 21.5, "strong": "台风(TY)", "power": 12,
    "speed": 35, "move_dir": "西北", "move_speed": 10, "pressure": 965, "radius7": 350, "radius10": 120,
    "radius12": 50, "radius7_quad": {"ne": 350, "se": 300, "sw": 250, "nw": 250},
    "radius10_quad": {"ne": 120, "se": 100, "sw": 80, "nw": 80},
    "radius12_quad": {"ne": 50, "se": 40, "sw": 30, "nw": 30}, "remark": "", "forecast": None,
}
JSON_STORM = {"tfbh": "202203", "name": "暹芭", "ename": "Chaba", "is_current": 1,
              "begin_time": "2022-06-30T08:00:00", "land": [], "points": [JSON_POINT]}

Parser = Callable[[bytes, Any], Iterator[Parsed]]


def run(parser: Parser, payload: bytes, **options: object) -> list[Event | Reject]:
    return [o if isinstance(o, Reject) else normalise(o) for o in parser(payload, {**OPTS, **options})]


def events(parser: Parser, payload: bytes, **options: object) -> list[Event]:
    out = run(parser, payload, **options)
    rejects = [o for o in out if isinstance(o, Reject)]
    assert not rejects, rejects[:5]
    return out  # type: ignore[return-value]


def sample(path: Path) -> bytes:
    if not path.is_file():
        pytest.skip(f"sample {path} not found (shared data checked out next to the repo?)")
    return path.read_bytes()


def near_landfall(evs: list[Event]) -> Event:
    return min(evs, key=lambda e: abs(e.occurred_at - MANGKHUT_LANDFALL))


def in_taishan_box(lat: float | None, lon: float | None) -> bool:
    return lat is not None and lon is not None and (
        TAISHAN_LAT[0] <= lat <= TAISHAN_LAT[1] and TAISHAN_LON[0] <= lon <= TAISHAN_LON[1])


def assert_ids_stable_and_unique(parser: Parser, payload: bytes) -> list[Event]:
    first = events(parser, payload)
    again = [c["event_id"] for c in parser(payload, OPTS) if isinstance(c, dict)]
    ids = [e.event_id for e in first]
    assert ids == again, "event ids changed between two parses"
    assert len(set(ids)) == len(ids), "event ids repeat within one file"
    return first


# --- every real file --------------------------------------------------------------------------


@pytest.mark.parametrize("path", BST_FILES or [pytest.param(None, marks=NO_DATA)],
                         ids=lambda p: p.name if isinstance(p, Path) else "no-data")
def test_every_best_track_file(path: Path) -> None:
    evs = assert_ids_stable_and_unique(parse_bst, path.read_bytes())
    assert evs, f"{path.name}: no fixes"
    year = int(path.name[2:6])
    for ev in evs:
        assert ev.kind == "track" and ev.category == "typhoon" and ev.status == "reported"
        assert ev.occurred_at.utcoffset() == timedelta(0)  # best track is in UTC
        assert abs(ev.occurred_at.year - year) <= 1
        assert ev.case_id.startswith("tf:")


@pytest.mark.parametrize("path", JSON_FILES or [pytest.param(None, marks=NO_DATA)],
                         ids=lambda p: p.name if isinstance(p, Path) else "no-data")
def test_every_realtime_json_file(path: Path) -> None:
    evs = assert_ids_stable_and_unique(parse_json, path.read_bytes())
    assert evs, f"{path.name}: no fixes"
    assert {e.case_id for e in evs} == {f"tf:{path.stem}"}
    for ev in evs:
        assert ev.occurred_at.utcoffset() == timedelta(hours=8)  # naive feed times are Beijing time
        assert ev.location is not None and ev.attrs["intensity"] in range(7)


# --- Mangkhut from both formats ---------------------------------------------------------------


def test_mangkhut_best_track() -> None:
    evs = events(parse_bst, sample(BST_DIR / "CH2018BST.txt"), storm="1822")
    assert {e.case_id for e in evs} == {"tf:201822"}
    fix = near_landfall(evs)
    assert fix.occurred_at == MANGKHUT_LANDFALL
    assert fix.location is not None and in_taishan_box(fix.location.lat, fix.location.lon)
    assert fix.attrs["name_en"] == "MANGKHUT" and fix.attrs["intensity"] == 5
    assert fix.attrs["intensity_zh"] == "强台风" and fix.priority == 1
    assert fix.attrs["pressure_hpa"] == 960 and fix.attrs["wind_ms"] == 42
    assert (fix.attrs["lat"], fix.attrs["lon"]) == (fix.location.lat, fix.location.lon)


def test_mangkhut_realtime_json() -> None:
    evs = events(parse_json, sample(JSON_DIR / "201822.json"))
    assert {e.case_id for e in evs} == {"tf:201822"}
    fix = near_landfall(evs)
    assert fix.occurred_at == MANGKHUT_LANDFALL  # 2018-09-16T17:00 Beijing time
    assert fix.occurred_at.isoformat() == "2018-09-16T17:00:00+08:00"
    assert fix.location is not None and in_taishan_box(fix.location.lat, fix.location.lon)
    assert fix.attrs["name_zh"] == "山竹" and fix.attrs["name_en"] == "Mangkhut"
    taishan = [lf for lf in fix.attrs["landfall"] if "台山" in lf["position"]]
    assert len(taishan) == 1 and in_taishan_box(taishan[0]["lat"], taishan[0]["lon"])
    assert taishan[0]["time"] == "2018-09-16T17:00:00+08:00"
    assert set(fix.attrs["radius7_quad"]) == {"ne", "se", "sw", "nw"}
    # landfalls appear on the fixes after them, not before
    assert "landfall" not in evs[0].attrs


def test_both_formats_name_the_same_case() -> None:
    bst = events(parse_bst, sample(BST_DIR / "CH2018BST.txt"), storm="MangKhut")
    js = events(parse_json, sample(JSON_DIR / "201822.json"), storm="1822")
    assert {e.case_id for e in bst} == {e.case_id for e in js} == {"tf:201822"}


@pytest.mark.parametrize("storm", ["201822", "1822", "mangkhut", "山竹"])
def test_storm_filter_json(storm: str) -> None:
    assert events(parse_json, sample(JSON_DIR / "201822.json"), storm=storm)
    assert not events(parse_json, sample(JSON_DIR / "201822.json"), storm="2203")


# --- best-track specifics ---------------------------------------------------------------------


def test_chaba_sample() -> None:
    evs = events(parse_bst, BST_SAMPLE.encode())
    assert [e.priority for e in evs] == [4, 3, 2, 2, 4]  # TD, STS, TY, TY, extratropical
    assert evs[-1].attrs["intensity_en"] == "ET" and evs[-1].attrs["intensity_zh"] == "变性"
    assert evs[0].occurred_at == datetime(2022, 6, 30, tzinfo=UTC)
    assert (evs[0].location.lat, evs[0].location.lon) == (16.9, 113.9)  # type: ignore[union-attr]


def test_number_from_the_year_of_the_first_fix() -> None:
    # 1801 BOLAVEN starts on 2017-12-30 but is the first storm of 2018
    evs = events(parse_bst, sample(BST_DIR / "CH2018BST.txt"), storm="bolaven")
    assert evs[0].occurred_at.year == 2017 and {e.case_id for e in evs} == {"tf:201801"}


def test_unnumbered_storms() -> None:
    evs = events(parse_bst, sample(BST_DIR / "CH1949BST.txt"))
    cases = {e.case_id for e in evs}
    assert "tf:1949-Carmen-s0001" in cases  # no international and no China number: the serial
    nameless = {c for c in cases if "(nameless)" in c}
    assert len(nameless) > 1  # several nameless storms a year stay apart
    evs = events(parse_bst, sample(BST_DIR / "CH1997BST.txt"))
    assert "tf:1997-(nameless)-9725" in {e.case_id for e in evs}  # the header without a name


def test_storm_east_of_the_date_line() -> None:
    # 2308 DORA enters the western Pacific from the east; CMA writes 255.0°E
    evs = events(parse_bst, sample(BST_DIR / "CH2023BST.txt"), storm="2308")
    assert evs[0].location is not None and evs[0].location.lon == pytest.approx(-105.0)


@pytest.mark.parametrize(("line", "field"), [
    ("2022070200 4 206 1118  965", "record"),
    ("20220702 4 206 1118  965 35", "time"),
    ("2022023000 4 206 1118  965 35", "time"),
    ("2022070200 7 206 1118  965 35", "intensity"),
    ("2022070200 4 2x6 1118  965 35", "lat"),
    ("2022070200 4 950 1118  965 35", "lat"),
    ("2022070200 4 206 4000  965 35", "lon"),
    ("2022070200 4 206 1118  9.5 35", "pressure"),
    ("2022070200 4 206 1118  965 3a", "wind"),
])
def test_best_track_rejects_name_the_field(line: str, field: str) -> None:
    out = list(parse_bst(f"{BST_SAMPLE}{line}\n".encode(), OPTS))
    rejects = [o for o in out if isinstance(o, Reject)]
    assert len(out) == 6 and len(rejects) == 1, out
    assert rejects[0].reason.startswith(f"{field}:"), rejects[0].reason


def test_best_track_header_problems() -> None:
    (rej,) = parse_bst(b"2022070200 4 206 1118  965 35\n", OPTS)
    assert isinstance(rej, Reject) and rej.reason.startswith("header:")
    (rej,) = parse_bst(b"66666 22x3 5\n2022070200 4 206 1118  965 35\n", OPTS)
    assert isinstance(rej, Reject) and rej.reason.startswith("header:")


# --- real-time JSON specifics -----------------------------------------------------------------


def dump(storms: list[dict[str, Any]], bom: bool = False) -> bytes:
    return (b"\xef\xbb\xbf" if bom else b"") + json.dumps(storms, ensure_ascii=False).encode()


def test_json_with_and_without_bom() -> None:
    a, b = events(parse_json, dump([JSON_STORM])), events(parse_json, dump([JSON_STORM], bom=True))
    assert [e.event_id for e in a] == [e.event_id for e in b]
    (ev,) = a
    assert ev.occurred_at == datetime(2022, 7, 2, 7, tzinfo=UTC) and ev.priority == 2
    assert ev.attrs["intensity"] == 4 and ev.attrs["radius10_quad"]["ne"] == 120


def test_json_forecast_is_kept_per_agency() -> None:
    forecast = [{"sets": "中国", "points": [{"time": "2022-07-03T08:00:00", "lng": 109.5, "lat": 22.4,
                                              "strong": "热带风暴(TS)", "pressure": 990, "speed": 20}]},
                {"sets": "日本", "points": [{"time": "bad", "lng": 1, "lat": 1}]}]
    (ev,) = events(parse_json, dump([{**JSON_STORM, "points": [{**JSON_POINT, "forecast": forecast}]}]))
    cn, jp = ev.attrs["forecast"]
    assert cn["agency"] == "中国" and cn["points"][0]["intensity"] == 2
    assert cn["points"][0]["time"] == "2022-07-03T08:00:00+08:00"
    assert jp == {"agency": "日本", "points": []}  # a broken forecast point is dropped, not the fix


@pytest.mark.parametrize(("point", "field"), [
    ({"time": None}, "time"),
    ({"time": "2022-07-02 25:00"}, "time"),
    ({"lat": "north"}, "lat"),
    ({"lat": 91.0}, "lat"),
    ({"lng": 400}, "lon"),
    ({"pressure": "deep"}, "pressure"),
    ({"radius7_quad": {"ne": "far"}}, "radius7_quad.ne"),
])
def test_json_rejects_name_the_field(point: dict[str, Any], field: str) -> None:
    out = list(parse_json(dump([{**JSON_STORM, "points": [JSON_POINT, {**JSON_POINT, **point}]}]), OPTS))
    assert isinstance(out[0], dict) and isinstance(out[1], Reject), out
    assert out[1].reason.startswith(f"{field}:"), out[1].reason


@pytest.mark.parametrize(("payload", "field"), [
    (b"", "json"),
    (b"{not json", "json"),
    (b'"a string"', "json"),
    (b"[1]", "storm"),
    (dump([{**JSON_STORM, "tfbh": None}]), "tfbh"),
    (dump([{**JSON_STORM, "points": "none"}]), "points"),
])
def test_json_document_rejects(payload: bytes, field: str) -> None:
    (rej,) = parse_json(payload, OPTS)
    assert isinstance(rej, Reject) and rej.reason.startswith(f"{field}:"), rej


@pytest.mark.parametrize("depth", [300, 1000, 2000])
def test_deeply_nested_json_is_rejected_not_raised(depth: int) -> None:
    nested = b"[" * depth + b"]" * depth
    for payload in (nested, b'[{"tfbh": "202203", "points": [' + nested + b"]}]"):
        out = list(parse_json(payload, OPTS))
        assert len(out) == 1 and isinstance(out[0], Reject), out


def test_text_payloads_with_lone_surrogates() -> None:
    for parser in (parse_bst, parse_json):
        assert all(isinstance(o, Reject) for o in parser("\ud800[]", OPTS))  # type: ignore[arg-type]


def test_zero_zero_is_no_position_not_a_reject() -> None:
    (ev,) = events(parse_json, dump([{**JSON_STORM, "points": [{**JSON_POINT, "lat": 0, "lng": 0}]}]))
    assert ev.location is None


# --- fuzzing ----------------------------------------------------------------------------------


def check_all(parser: Parser, payload: bytes) -> None:
    for item in parser(payload, OPTS):
        assert isinstance(item, dict | Reject)
        if isinstance(item, dict):
            assert isinstance(normalise(item), Event | Reject)


@FUZZ
@given(st.binary(max_size=2000), st.sampled_from([parse_bst, parse_json]))
def test_fuzz_random_bytes(payload: bytes, parser: Parser) -> None:
    check_all(parser, payload)


@FUZZ
@given(st.text(max_size=2000), st.sampled_from([parse_bst, parse_json]))
def test_fuzz_random_text(text: str, parser: Parser) -> None:
    check_all(parser, text.encode("utf-8", "surrogatepass"))


TOKENS = st.one_of(st.text(max_size=12), st.integers(-10**12, 10**12).map(str),
                   st.floats().map(str), st.sampled_from(["", "66666", "0000", "nan", "-0", "9" * 30]))


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 7), TOKENS), max_size=6))
def test_fuzz_best_track_fields(edits: list[tuple[int, int, str]]) -> None:
    lines = [line.split() for line in BST_SAMPLE.splitlines()]
    for row, col, token in edits:
        fields = lines[row]
        fields[col % len(fields)] = token
    check_all(parse_bst, "\n".join(" ".join(f) for f in lines).encode("utf-8", "surrogatepass"))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**15, 10**15) | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["2022-07-02T15:00:00", "2022-07-02T15:00:00+09:00", "台风(TY)"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
POINT_KEYS = st.sampled_from([*JSON_POINT, "forecast"])
STORM_KEYS = st.sampled_from([*JSON_STORM])


@FUZZ
@given(st.dictionaries(POINT_KEYS, JSON_VALUES, max_size=5),
       st.dictionaries(STORM_KEYS, JSON_VALUES, max_size=2))
def test_fuzz_json_fields(point_edits: dict[str, Any], storm_edits: dict[str, Any]) -> None:
    storm = {**JSON_STORM, "points": [{**JSON_POINT, **point_edits}], **storm_edits}
    check_all(parse_json, json.dumps([storm], ensure_ascii=False).encode())
