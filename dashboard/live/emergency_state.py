"""The emergency picture: warnings, storm tracks, the response level, mobilisation, grid check-ins,
closures, tasks, gauges and vessels, kept as compact records of the non-case events.

Each event becomes a few writes (:func:`fold_ops`, pure): a record into one table under the
event's id (a CAP chain, a storm, a district, a grid, a station…), replaced only by a newer version
(occurred time, then event id), plus a response level change into a log. Like the case state this
is idempotent and order-independent: a redelivered or late event changes nothing it should not, and
any number of workers end where a replay does. The board snapshot (emergency_board.py) reads the
tables whole; they stay small because :func:`prune` drops what is long over.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson
import redis
import shapely

from dashboard.contract.geo import districts, label_point, towns
from dashboard.contract.keys import Keys
from dashboard.live.state import epoch, ts

TABLES = ("storm", "warning", "mobilise", "checkin", "closure", "task", "gauge", "vessel")
SEVERITY = {"I": 4, "II": 3, "III": 2, "IV": 1}  # response level -> severity (0: none)
ROMAN = {v: k for k, v in SEVERITY.items()}
COLOUR_RANK = {"blue": 1, "yellow": 2, "orange": 3, "red": 4}
REPORT_CODES = {"应急响应": "RESPONSE", "力量动员": "MOBILIZE"}  # reports from before report_code existed
DONE_STATUSES = frozenset({"closed", "resolved", "cancelled"})

# how long records stay after they are over (seconds of the data's clock)
KEEP_OVER_S = {"warning": 2 * 86400, "closure": 2 * 86400, "task": 2 * 86400, "mobilise": 2 * 86400,
               "gauge": 86400, "vessel": 86400, "checkin": 7 * 86400, "storm": 5 * 86400}
KEEP_LEVELS_S = 30 * 86400
KEEP_ACKS_S = 30 * 86400

# Replace a field only with a newer version; the version is stored in front of the JSON.
SET_IF_NEWER = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local v = string.sub(cur, 1, string.find(cur, '\\n', 1, true) - 1)
  if v >= ARGV[2] then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '\\n' .. ARGV[3])
return 1
"""


@dataclass(frozen=True, slots=True)
class Put:
    """Write ``value`` into hash ``key`` under ``field`` unless a version >= ``version`` is there."""
    key: str
    field: str
    version: str
    value: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Log:
    """Add ``value`` to sorted set ``key`` at ``score`` (the same value twice is one member)."""
    key: str
    score: float
    value: dict[str, Any]


Op = Put | Log


def version_of(ev: Mapping[str, Any], at: str = "occurred_at") -> str:
    return f"{int(epoch(ev[at]) * 1000):015d}:{ev['event_id']}"


def fold_ops(ev: Mapping[str, Any], keys: Keys) -> list[Op]:
    """The writes one non-case event makes to the emergency picture (none for what it does not show)."""
    kind, cat, attrs = ev["kind"], ev.get("category"), ev.get("attrs") or {}
    if kind == "alert":
        return [_warning(ev, attrs, keys)]
    if kind == "track" and cat == "typhoon":
        return _storm(ev, attrs, keys)
    if kind == "track" and cat == "maritime":
        return [Put(keys.em("vessel"), ev["case_id"], version_of(ev), _vessel(ev, attrs))]
    if kind == "reading" and cat == "hydrology":
        return [Put(keys.em("gauge"), ev["case_id"], version_of(ev), _gauge(ev, attrs))]
    if kind == "mobilisation":
        return _mobilisation(ev, attrs, keys)
    return []


def _loc(ev: Mapping[str, Any]) -> dict[str, Any]:
    return ev.get("location") or {}


def _t(ev: Mapping[str, Any]) -> int:
    return int(epoch(ev["occurred_at"]))


def _since(ev: Mapping[str, Any]) -> int:
    rep = ts(ev.get("reported_at"))
    return int(rep) if rep is not None else _t(ev)


def _warning(ev: Mapping[str, Any], a: Mapping[str, Any], keys: Keys) -> Put:
    loc = _loc(ev)
    areas = {str(g.get("value")) for area in a.get("areas") or [] for g in area.get("geocodes") or []
             if isinstance(g, dict) and str(g.get("value", "")).isdigit() and len(str(g.get("value"))) == 6}
    if loc.get("adcode"):
        areas.add(loc["adcode"])
    expires = ts(a.get("expires")) if isinstance(a.get("expires"), str) else None
    rec = {"id": ev["case_id"], "areas": sorted(areas), "hz": a.get("event") or "", "c": a.get("colour"),
           "mt": a.get("msg_type"), "st": ev["status"], "cap": a.get("cap_status") or "Actual", "t": _t(ev),
           "from": _since(ev), "exp": int(expires) if expires else None, "hl": ev.get("summary") or "",
           "src": ev["source"]}
    return Put(keys.em("warning"), ev["case_id"], version_of(ev), rec)


def _quad(a: Mapping[str, Any], name: str) -> list[float | None] | None:
    q = a.get(f"{name}_quad")
    if isinstance(q, dict) and any(q.get(k) for k in ("ne", "se", "sw", "nw")):
        return [q.get(k) for k in ("ne", "se", "sw", "nw")]
    r = a.get(name)
    return [r, r, r, r] if isinstance(r, int | float) and r > 0 else None


def _storm(ev: Mapping[str, Any], a: Mapping[str, Any], keys: Keys) -> list[Op]:
    loc = _loc(ev)
    storm = str(a.get("storm_id") or ev["case_id"].split(":", 1)[-1])
    t = _t(ev)
    fix = {"t": t, "lat": loc.get("lat"), "lon": loc.get("lon"), "cat": a.get("intensity"),
           "w": a.get("wind_ms"), "p": a.get("pressure_hpa"), "pw": a.get("power"), "dir": a.get("move_dir"),
           "spd": a.get("move_speed"), "r7": _quad(a, "radius7"), "r10": _quad(a, "radius10"),
           "r12": _quad(a, "radius12")}
    forecast = [{"by": f.get("agency") or "", "pts": [[int(epoch(p["time"])), p.get("lat"), p.get("lon"),
                                                      p.get("intensity"), p.get("wind_ms")]
                                                     for p in f.get("points") or [] if p.get("time")]}
                for f in a.get("forecast") or [] if isinstance(f, dict)]
    land = [[int(epoch(x["time"])), x.get("lat"), x.get("lon"), x.get("position") or ""]
            for x in a.get("landfall") or [] if isinstance(x, dict) and x.get("time")]
    meta = {"id": storm, "zh": a.get("name_zh") or "", "en": a.get("name_en") or "", "t": t, "fc": forecast,
            "land": land, "src": ev["source"]}
    # a fix re-issued with other values (operational tracks are revised): the later ingest wins
    return [Put(keys.em_track(storm), str(t), version_of(ev, "ingested_at"), fix),
            Put(keys.em("storm"), storm, version_of(ev), meta)]


def _vessel(ev: Mapping[str, Any], a: Mapping[str, Any]) -> dict[str, Any]:
    loc = _loc(ev)
    return {"t": _t(ev), "d": loc.get("adcode"), "st": a.get("nav_status"), "port": bool(a.get("in_port")),
            "tp": a.get("ship_type"), "lat": loc.get("lat"), "lon": loc.get("lon")}


def _gauge(ev: Mapping[str, Any], a: Mapping[str, Any]) -> dict[str, Any]:
    loc = _loc(ev)
    return {"t": _t(ev), "nm": a.get("station_name") or ev.get("summary") or "", "tp": a.get("station_type"),
            "d": loc.get("adcode"), "z": a.get("level_m"), "wz": a.get("warning_level_m"),
            "gz": a.get("guarantee_level_m"), "over": a.get("over_warning_m"), "warn": str(a.get("warn") or "0"),
            "dyp": a.get("day_rain_mm"), "drp": a.get("rain_mm"), "lat": loc.get("lat"), "lon": loc.get("lon")}


def report_code(a: Mapping[str, Any]) -> str:
    code = a.get("report_code") or REPORT_CODES.get(str(a.get("report_type") or ""), "")
    return str(code).upper()


def _mobilisation(ev: Mapping[str, Any], a: Mapping[str, Any], keys: Keys) -> list[Op]:
    code, loc, v = report_code(a), _loc(ev), version_of(ev)
    if code == "RESPONSE":
        level = str(a.get("response_level") or "NONE")
        rec = {"t": _t(ev), "lvl": level if level in SEVERITY else None, "sev": SEVERITY.get(level, 0),
               "act": a.get("action") or "", "hz": a.get("hazard") or "", "nm": a.get("response_name") or "",
               "ep": ev["case_id"]}
        return [Log(keys.em_levels, _t(ev), rec)]
    if code == "MOBILIZE" and loc.get("adcode"):
        return [Put(keys.em("mobilise"), loc["adcode"], v, _mobilise(ev, a))]
    if code == "CHECKIN" and loc.get("grid"):
        rec = {"t": _t(ev), "d": loc.get("adcode"), "town": loc.get("town"), "w": _int(a.get("grid_workers")),
               "s": _int(a.get("dept_staff")), "n": _int(a.get("persons_on_duty")), "id": ev["case_id"]}
        return [Put(keys.em("checkin"), loc["grid"], v, rec)]
    if code == "CLOSURE":
        rec = {"t": _t(ev), "from": _since(ev), "st": ev["status"], "type": a.get("closure_type") or "",
               "nm": a.get("closure_name") or ev.get("summary") or "", "why": a.get("reason") or "",
               "d": loc.get("adcode"), "lat": loc.get("lat"), "lon": loc.get("lon")}
        return [Put(keys.em("closure"), ev["case_id"], v, rec)]
    if code == "TASK":
        deadline = ts(a.get("deadline")) if isinstance(a.get("deadline"), str) else None
        rec = {"t": _t(ev), "from": _since(ev), "st": ev["status"], "task": a.get("task_name") or ev.get("summary"),
               "who": a.get("assignee") or ev.get("department") or "", "d": loc.get("adcode"),
               "due": int(deadline) if deadline else None}
        return [Put(keys.em("task"), ev["case_id"], v, rec)]
    return []


def _mobilise(ev: Mapping[str, Any], a: Mapping[str, Any]) -> dict[str, Any]:
    raw = a.get("shelters")
    shelters: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
    teams = [[str(x.get("teamType") or x.get("team_type") or ""), _int(x.get("activated")),
              _int(x.get("available")), _int(x.get("persons"))] for x in a.get("teams") or [] if isinstance(x, dict)]
    towns = [[str(x.get("townCode") or ""), _int(x.get("personsDeployed")), _int(x.get("personsTransferred")),
              _int(x.get("sheltersOpened")), _int(x.get("shelterOccupancy"))]
             for x in a.get("towns") or [] if isinstance(x, dict)]
    return {"t": _t(ev), "lvl": a.get("response_level"), "teams": teams, "dep": _int(a.get("persons_deployed")),
            "sh": [_int(shelters.get("opened")), _int(shelters.get("capacity")), _int(shelters.get("occupancy"))],
            "tr": _int(a.get("persons_transferred")),
            "boats": [_int(a.get("boats_in_port")), _int(a.get("boats_at_sea"))],
            "towns": towns}


def _int(v: Any) -> int:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int | float):
        return int(v)
    try:
        return int(float(str(v)))
    except (TypeError, ValueError):
        return 0


def grid_inventory(events: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Grid id -> town code of the grids these events name (the grids a check-in rate counts)."""
    out = {}
    for ev in events:
        loc = ev.get("location") or {}
        grid, town = loc.get("grid"), loc.get("town")
        if grid and town:
            out[str(grid)] = str(town)
    return out


def replay(events: Iterable[Mapping[str, Any]], keys: Keys, now: float) -> dict[str, dict[str, bytes]]:
    """The emergency picture's keys as a from-scratch replay of ``events`` computes them (what the
    workers keep, pruned as they prune): key -> field -> stored value (a hash field as stored, a
    sorted-set member -> its score as text)."""
    puts: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {}
    logs: dict[str, dict[bytes, float]] = {}
    events = list(events)
    for ev in events:
        if ev.get("kind") == "case":
            continue
        for op in fold_ops(ev, keys):
            if isinstance(op, Put):
                cur = puts.setdefault(op.key, {}).get(op.field)
                if cur is None or op.version > cur[0]:
                    puts[op.key][op.field] = (op.version, op.value)
            else:
                logs.setdefault(op.key, {})[orjson.dumps(op.value, option=orjson.OPT_SORT_KEYS)] = op.score
    out: dict[str, dict[str, bytes]] = {}
    tables = {keys.em(t): t for t in TABLES}
    kept = {key: {f: (v, rec) for f, (v, rec) in fields.items()
                  if key not in tables or _over_since(tables[key], rec, now) <= KEEP_OVER_S[tables[key]]}
            for key, fields in puts.items()}
    gone = puts.get(keys.em("storm"), {}).keys() - kept.get(keys.em("storm"), {}).keys()
    for s in gone:  # a pruned storm's track goes with it
        kept.pop(keys.em_track(s), None)
    for key, fields in kept.items():
        out[key] = {f: v.encode() + b"\n" + orjson.dumps(rec) for f, (v, rec) in fields.items()}
    for key, members in logs.items():
        out[key] = {m.decode(): str(float(score)).encode() for m, score in members.items()
                    if score >= now - KEEP_LEVELS_S}
    grids = grid_inventory(events)
    if grids:
        out[keys.em_grids] = {g: town.encode() for g, town in grids.items()}
    return {k: v for k, v in out.items() if v}


def read_raw(r: redis.Redis, keys: Keys) -> dict[str, dict[str, bytes]]:
    """The emergency picture's keys as stored, in the shape :func:`replay` gives."""
    out: dict[str, dict[str, bytes]] = {}
    for raw_key in r.scan_iter(match=f"{keys.live}:em:*", count=5000):
        key = _s(raw_key)
        if key == keys.em_acks:
            continue  # people's acknowledgements are not in the streams
        if key == keys.em_levels:
            members: Any = r.zrange(key, 0, -1, withscores=True)
            out[key] = {_s(m): str(float(sc)).encode() for m, sc in members}
        else:
            fields: Any = r.hgetall(key)
            out[key] = {_s(f): bytes(v) for f, v in fields.items()}
    return {k: v for k, v in out.items() if v}


# --- reading the picture (pure) ------------------------------------------------------------------

@dataclass(frozen=True)
class Geo:
    """The city's districts (label points for distances) and towns, built once."""
    city: str
    names: dict[str, str]
    points: dict[str, tuple[float, float]]
    town_names: dict[str, str]
    centre: tuple[float, float]
    bounds: tuple[tuple[float, float], tuple[float, float]]  # [[south, west], [north, east]]

    @classmethod
    @cache
    def of(cls, city: str) -> Geo:
        ds = districts(city)
        points = {d.adcode: label_point(d) for d in ds}
        lat = sum(p[0] for p in points.values()) / len(points)
        lon = sum(p[1] for p in points.values()) / len(points)
        minx, miny, maxx, maxy = shapely.union_all([d.geometry for d in ds]).bounds
        return cls(city, {d.adcode: d.name for d in ds}, points, {t.code: t.name for t in towns(city)}, (lat, lon),
                   ((miny, minx), (maxy, maxx)))

    def in_scope(self, adcode: str | None, scope: str) -> bool:
        return bool(adcode) and (scope == self.city or adcode == scope)


def response(levels: list[dict[str, Any]], now: float) -> dict[str, Any] | None:
    """The response level in force (or the last one stood down), since when, and its episode."""
    past = sorted((x for x in levels if x["t"] <= now), key=lambda x: (x["t"], x.get("sev", 0)))
    if not past:
        return None
    cur = past[-1]
    episode = [x for x in past if x.get("ep") == cur.get("ep")]
    return {"lvl": cur.get("lvl"), "sev": cur.get("sev", 0), "active": cur.get("sev", 0) > 0,
            "act": cur.get("act"), "hz": cur.get("hz"), "nm": cur.get("nm"), "ep": cur.get("ep"),
            "since": cur["t"], "episode_start": episode[0]["t"],
            "peak": ROMAN.get(max(x.get("sev", 0) for x in episode)),
            "history": [[x["t"], x.get("sev", 0), x.get("act")] for x in past[-40:]]}


def active_warnings(warnings: Iterable[Mapping[str, Any]], now: float, geo: Geo) -> list[dict[str, Any]]:
    """Warnings in force (status Actual, not cancelled, not expired) for the city's districts,
    most severe first. A warning for the whole city covers every district."""
    out = []
    for w in warnings:
        if w.get("cap") != "Actual" or w.get("mt") == "Cancel" or w.get("st") == "cancelled":
            continue
        if w.get("exp") is not None and w["exp"] <= now:
            continue
        areas = set(w.get("areas") or [])
        covered = sorted(geo.names) if geo.city in areas else sorted(a for a in areas if a in geo.names)
        if covered:
            out.append({**w, "districts": covered, "rank": COLOUR_RANK.get(str(w.get("c")), 0)})
    return sorted(out, key=lambda w: (-w["rank"], w["districts"][0], -w["t"]))


# --- Redis ------------------------------------------------------------------------------------

class EmergencyStore:
    """Writes the emergency picture; reads it whole for a snapshot; prunes what is long over."""

    def __init__(self, r: redis.Redis, keys: Keys) -> None:
        self.r, self.keys = r, keys
        self._set_if_newer = r.register_script(SET_IF_NEWER)

    def queue(self, pipe: Any, events: Sequence[Mapping[str, Any]]) -> int:
        """Queue the writes of a batch of events on a (non-transactional) pipeline; returns how many."""
        n = 0
        for ev in events:
            if ev["kind"] == "case":
                continue
            for op in fold_ops(ev, self.keys):
                n += 1
                if isinstance(op, Put):
                    self._set_if_newer(keys=[op.key], args=[op.field, op.version, orjson.dumps(op.value)],
                                       client=pipe)
                else:
                    pipe.zadd(op.key, {orjson.dumps(op.value, option=orjson.OPT_SORT_KEYS): op.score})
        grids = grid_inventory(events)
        if grids:
            pipe.hset(self.keys.em_grids, mapping=grids)
        return n

    def read(self) -> dict[str, Any]:
        """Every table (records without their versions), the level log, the acknowledgements and
        the track of each storm, in two round trips."""
        pipe = self.r.pipeline(transaction=False)
        for t in TABLES:
            pipe.hgetall(self.keys.em(t))
        pipe.zrange(self.keys.em_levels, 0, -1)
        pipe.hgetall(self.keys.em_grids)
        pipe.hgetall(self.keys.em_acks)
        res = pipe.execute()
        out: dict[str, Any] = {t: records(h) for t, h in zip(TABLES, res, strict=False)}
        out["levels"] = [orjson.loads(m) for m in res[len(TABLES)]]
        out["grids"] = {_s(k): _s(v) for k, v in res[len(TABLES) + 1].items()}
        out["acks"] = {_s(k): orjson.loads(v) for k, v in res[len(TABLES) + 2].items()}
        storms = list(out["storm"])
        pipe = self.r.pipeline(transaction=False)
        for s in storms:
            pipe.hgetall(self.keys.em_track(s))
        out["tracks"] = {s: sorted(records(h).values(), key=lambda f: f["t"])
                         for s, h in zip(storms, pipe.execute(), strict=True)}
        return out

    def prune(self, now: float) -> int:
        """Drop records long over (ended warnings, lifted closures, done tasks, old readings…)."""
        tables = self.read()
        pipe = self.r.pipeline(transaction=False)
        n = 0
        for table in TABLES:
            old = [f for f, rec in tables[table].items() if _over_since(table, rec, now) > KEEP_OVER_S[table]]
            if old:
                pipe.hdel(self.keys.em(table), *old)
                n += len(old)
            if table == "storm":
                for s in old:
                    pipe.delete(self.keys.em_track(s))
        pipe.zremrangebyscore(self.keys.em_levels, "-inf", now - KEEP_LEVELS_S)
        stale_acks = [k for k, a in tables["acks"].items() if now - a.get("at", now) > KEEP_ACKS_S]
        if stale_acks:
            pipe.hdel(self.keys.em_acks, *stale_acks)
        pipe.execute()
        return n


def _over_since(table: str, rec: Mapping[str, Any], now: float) -> float:
    """How long (s) a record has been over; 0 while it still matters."""
    t = rec.get("t") or 0
    if table == "warning":
        ended = rec.get("mt") == "Cancel" or rec.get("st") == "cancelled"
        exp = rec.get("exp")
        if not ended and exp is not None and exp < now:
            return now - exp
        return now - t if ended else 0.0
    if table in ("closure", "task"):
        return now - t if rec.get("st") in DONE_STATUSES else 0.0
    return now - t


def records(h: Mapping[bytes, bytes]) -> dict[str, dict[str, Any]]:
    """A table's fields with the version stripped."""
    out = {}
    for k, v in h.items():
        _, _, body = v.partition(b"\n")
        out[_s(k)] = orjson.loads(body)
    return out


def _s(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v
