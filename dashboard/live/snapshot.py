"""Board snapshots: the compact JSON a board renders, built from the live state's counters.

A snapshot reads a bounded amount whatever the history: the current-state hashes, at most 48
hourly and 30 daily buckets, and the SLA clocks' sorted sets counted in one server-side script.
Time-dependent figures (red and yellow lights, overdue counts) are counted at build time from the
deadlines, so they are exact without any timer. Snapshots are parameterised by scope: ``city``
or one district's adcode. "Now" (``as_of``, the windows, the lights) is the run's clock
(feeds/clock.py), whose speed the wall snapshot carries (``clock``) so a board can say "×60".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
import redis

from dashboard.live.sla import Policies
from dashboard.live.state import CLOSE_STAGES, SIGN_STAGES, beijing_day, day_bucket, hour_bucket
from feeds.clock import Clock
from feeds.event import BEIJING, CATEGORY_ZH, Category
from feeds.geo import districts, towns
from feeds.keys import Keys

SNAPLOG_KEEP = 50
TICKER_SHOWN = 20
WINDOWS: dict[str, tuple[str, str]] = {"today": ("今日", "today"), "24h": ("近24小时", "last 24 h"),
                                       "7d": ("近7日", "last 7 days"), "30d": ("近30日", "last 30 days")}

# KPI definitions shown next to every figure: (key, 中文, English, formula 中文, formula English, target %)
KPIS: tuple[tuple[str, str, str, str, str, float | None], ...] = (
    ("closure", "办结率", "Closure rate",
     "窗口内受理工单中已办结数 ÷ (受理数 − 撤销数)",
     "cases received in the window and handled ÷ (received − cancelled)", 98.9),
    ("ontime_sign", "按时签收率", "On-time sign-off",
     "按时签收数 ÷ (窗口内签收数 + 当前超时未签收数)",
     "signed on time ÷ (signed in the window + open cases now past their sign-off deadline)", 100.0),
    ("response", "部门响应率", "Department response",
     "窗口内已签收数 ÷ (窗口内签收数 + 当前超时未签收数)",
     "signed in the window ÷ (signed in the window + open cases now past their sign-off deadline)", 100.0),
    ("ontime_close", "按时办结率", "On-time closure",
     "按期办结数 ÷ (窗口内办结数 + 当前超期未办结数)",
     "handled by the deadline ÷ (handled in the window + open cases now past their deadline)", 100.0),
    ("satisfaction", "满意率", "Satisfaction",
     "满意与基本满意数 ÷ 回访评价数", "satisfied or fairly satisfied ÷ rated, ratings in the window", 99.0),
    ("redo", "发回重办率", "Sent back for redo",
     "发回重办次数 ÷ 窗口内办结数", "times sent back for redo ÷ cases handled in the window", None),
)

# counts every SLA clock key: ARGV now, now + 1 h; per key: total, yellow-or-red, red, due within 1 h
_COUNT_CLOCKS = """
local out = {}
for i = 1, #KEYS, 2 do
  local due, warn = KEYS[i], KEYS[i + 1]
  out[#out + 1] = redis.call('ZCARD', due)
  out[#out + 1] = redis.call('ZCOUNT', warn, '-inf', ARGV[1])
  out[#out + 1] = redis.call('ZCOUNT', due, '-inf', ARGV[1])
  out[#out + 1] = redis.call('ZCOUNT', due, '(' .. ARGV[1], ARGV[2])
end
return out
"""


# sums hashes field by field: KEYS the hashes, ARGV[1] a field prefix ('' for every field)
SUM_SCRIPT = """
local acc, order, p = {}, {}, ARGV[1]
local lp = #p
for _, k in ipairs(KEYS) do
  local h = redis.call('HGETALL', k)
  for i = 1, #h, 2 do
    local f = h[i]
    if lp == 0 or string.sub(f, 1, lp) == p then
      local v = acc[f]
      if v == nil then order[#order + 1] = f; acc[f] = tonumber(h[i + 1])
      else acc[f] = v + tonumber(h[i + 1]) end
    end
  end
end
local out = {}
for _, f in ipairs(order) do
  if acc[f] ~= 0 then out[#out + 1] = f; out[#out + 1] = tostring(acc[f]) end
end
return out
"""


@dataclass(frozen=True, slots=True)
class Scope:
    name: str  # "city" or a district adcode

    @property
    def dim(self) -> str:
        return "all" if self.name == "city" else "district"

    @property
    def value(self) -> str:
        return "*" if self.name == "city" else self.name

    def wants_clock(self, dim: str, value: str) -> bool:
        """Clock counters this scope shows: the city's own and per district, source and category;
        a district's own and per town."""
        if self.name == "city":
            return dim in ("all", "district", "source", "category")
        return (dim == "district" and value == self.name) or (dim == "town" and value.startswith(self.name))


class SnapshotBuilder:
    def __init__(self, r: redis.Redis, keys: Keys, policies: Policies, city: str,
                 source_names: Mapping[str, str] | None = None, clock: Clock | None = None) -> None:
        self.r = r
        self.clock = clock or Clock()
        self.source_names = dict(source_names or {})
        self.keys = keys
        self.policies = policies
        self.city = city
        self._count_clocks = r.register_script(_COUNT_CLOCKS)
        self._sum = r.register_script(SUM_SCRIPT)
        self._stage_labels = {f"{p}.{s}": (zh, en) for p, s, zh, en in policies.stages()}

    # --- public ---------------------------------------------------------------------------------

    def build_wall(self, scope: str = "city", now: float | None = None,
                   feeds: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        now = self.clock.now() if now is None else now
        sc = Scope(scope)
        pipe = self.r.pipeline(transaction=False)
        pipe.get(self.keys.version)
        pipe.zrange(self.keys.newest, 0, -1, withscores=True)
        pipe.smembers(self.keys.clock_keys)
        pipe.zrevrange(self.keys.ticker, 0, 4 * TICKER_SHOWN)
        for dim in self._now_dims(sc):
            pipe.hgetall(self.keys.now(dim))
        head = pipe.execute()
        version, newest, clock_names, ticker = head[:4]
        now_hashes = {dim: _ints(h) for dim, h in zip(self._now_dims(sc), head[4:], strict=True)}
        sums = self._sums(sc, now)
        clocks = self._clocks(clock_names, sc, now)
        return {
            "board": "wall", "scope": scope, "version": int(version or 0), "as_of": int(now * 1000),
            "clock": self.clock.describe(),
            "data_as_of": int(max((s for _, s in newest), default=0)) or None,
            "newest": {_s(m): int(s) for m, s in newest},
            "now": self._current(now_hashes, sc),
            "kpis": {w: kpi_values(sums[w], sc.value, _overdue(clocks, sc.dim, sc.value)) for w in WINDOWS},
            "kpi_defs": [{"key": k, "zh": zh, "en": en, "formula_zh": fz, "formula_en": fe, "target": t}
                         for k, zh, en, fz, fe, t in KPIS],
            "windows": self._windows(now),
            "sla": self._sla_rows(clocks, sc),
            "areas": self._areas(now_hashes, sums, clocks, sc),
            "by_source": self._breakdown(now_hashes, sums["source_today"], "source"),
            "by_category": self._breakdown(now_hashes, sums["category_today"], "category"),
            "trend": self._trend(sums["trend"], now),
            "ticker": self._ticker(ticker, sc),
            "feeds": feeds or [],
        }

    def build_map(self, scope: str = "city", now: float | None = None) -> dict[str, Any]:
        """The open cases' markers (masked summaries) of a scope, for the wall's map."""
        return self.build_maps([scope], now)[scope]

    def build_maps(self, scopes: Iterable[str], now: float | None = None) -> dict[str, dict[str, Any]]:
        """Map snapshots of several scopes from one read of the markers."""
        now = self.clock.now() if now is None else now
        pipe = self.r.pipeline(transaction=False)
        pipe.get(self.keys.version)
        pipe.hvals(self.keys.markers)
        version, raw = pipe.execute()
        markers = [orjson.loads(v) for v in raw]
        out = {}
        for scope in scopes:
            mine = markers if scope == "city" else [m for m in markers if m.get("d") == scope]
            out[scope] = {"board": "wall-map", "scope": scope, "version": int(version or 0),
                          "as_of": int(now * 1000), "markers": mine}
        return out

    def publish(self, board: str, scope: str, snapshot: Mapping[str, Any], keep: int = SNAPLOG_KEEP) -> str:
        """Store the snapshot and append it to the board's log (what browsers are pushed)."""
        body = orjson.dumps(snapshot)
        pipe = self.r.pipeline(transaction=False)
        pipe.set(self.keys.snapshot(board, scope), body)
        pipe.xadd(self.keys.snapshot_log(board, scope), {"s": body}, maxlen=keep, approximate=keep > 10)
        return _s(pipe.execute()[1])

    # --- reading ----------------------------------------------------------------------------------

    def _now_dims(self, sc: Scope) -> list[str]:
        return ["all", "district", "source", "category"] if sc.name == "city" else ["district", "town"]

    def _sums(self, sc: Scope, now: float) -> dict[str, Any]:
        """Window sums, summed inside Redis (a bounded number of buckets whatever the history)."""
        hour0, day0 = int(now // 3600), beijing_day(now)
        hours = [hour_bucket(h) for h in range(hour0 - 47, hour0 + 1)]  # oldest first
        days = [day_bucket(d) for d in range(day0 - 29, day0 + 1)]
        mine = f"{sc.value}|"
        area_dim = "district" if sc.name == "city" else "town"
        area_prefix = "" if sc.name == "city" else sc.name
        pipe = self.r.pipeline(transaction=False)
        plan: list[str] = []

        def summed(name: str, keys: list[str], prefix: str) -> None:
            self._sum(keys=keys, args=[prefix], client=pipe)
            plan.append(name)

        for w, n in (("today", 1), ("7d", 7), ("30d", 30)):
            summed(w, [self.keys.agg("d", b, sc.dim) for b in days[-n:]], mine)
        summed("24h", [self.keys.agg("h", b, sc.dim) for b in hours[-24:]], mine)
        summed("areas_30d", [self.keys.agg("d", b, area_dim) for b in days], area_prefix)
        summed("areas_today", [self.keys.agg("d", days[-1], area_dim)], area_prefix)
        if sc.name == "city":
            summed("source_today", [self.keys.agg("d", days[-1], "source")], "")
            summed("category_today", [self.keys.agg("d", days[-1], "category")], "")
        for b in hours:
            pipe.hget(self.keys.agg("h", b, sc.dim), f"{mine}recv")
        res = pipe.execute()
        out: dict[str, Any] = {name: _pairs(v) for name, v in zip(plan, res, strict=False)}
        out.setdefault("source_today", {})
        out.setdefault("category_today", {})
        out["trend"] = [int(v or 0) for v in res[len(plan):]]
        return out

    def _clocks(self, names: Iterable[bytes], sc: Scope, now: float) -> dict[tuple[str, str, str], dict[str, int]]:
        """{(stage, dim, value): {total, yellow, red, due_1h, green}} for the scope's dimensions."""
        triples = sorted(t for t in (tuple(_s(n).split("|", 2)) for n in names)
                         if len(t) == 3 and sc.wants_clock(t[1], t[2]))
        if not triples:
            return {}
        keys: list[str] = []
        for stage, dim, value in triples:
            keys += [self.keys.due(stage, dim, value), self.keys.warn(stage, dim, value)]
        raw = self._count_clocks(keys=keys, args=[now, now + 3600])
        out = {}
        for i, t in enumerate(triples):
            total, warn, red, due1h = (int(x) for x in raw[4 * i: 4 * i + 4])
            out[t] = {"total": total, "red": red, "yellow": warn - red, "green": total - warn, "due_1h": due1h}
        return out

    # --- figures ----------------------------------------------------------------------------------

    def _current(self, now_hashes: Mapping[str, dict[str, int]], sc: Scope) -> dict[str, int]:
        h = now_hashes[sc.dim]
        return {m: h.get(f"{sc.value}|{m}", 0) for m in ("open", "open_p1", "esc", "inc")}

    def _windows(self, now: float) -> dict[str, Any]:
        out = {}
        for w, (zh, en) in WINDOWS.items():
            start, end = window_range(w, now)
            out[w] = {"zh": zh, "en": en, "from": _iso(start), "to": _iso(end)}
        return out

    def _sla_rows(self, clocks: Mapping[tuple[str, str, str], dict[str, int]], sc: Scope) -> list[dict[str, Any]]:
        rows = []
        for (stage, dim, value), c in sorted(clocks.items()):
            if dim == sc.dim and value == sc.value:
                zh, en = self._stage_labels.get(stage, (stage, stage))
                rows.append({"stage": stage, "policy": stage.split(".", 1)[0], "zh": zh, "en": en, **c})
        return rows

    def _areas(self, now_hashes: Mapping[str, dict[str, int]], sums: Mapping[str, dict[str, int]],
               clocks: Mapping[tuple[str, str, str], dict[str, int]], sc: Scope) -> list[dict[str, Any]]:
        """The per-district table (city scope) or per-town table (district scope)."""
        if sc.name == "city":
            dim, names = "district", {d.adcode: d.name for d in districts(self.city)}
        else:
            dim, names = "town", {t.code: t.name for t in towns(self.city) if t.adcode == sc.name}
        today, month, cur = sums["areas_today"], sums["areas_30d"], now_hashes[dim]
        rows = []
        for code, name in names.items():
            lights = [c for (_, d, v), c in clocks.items() if d == dim and v == code]
            rows.append({
                "code": code, "name": name,
                "open": cur.get(f"{code}|open", 0), "incidents": cur.get(f"{code}|inc", 0),
                "received_today": today.get(f"{code}|recv", 0), "closed_today": today.get(f"{code}|done", 0),
                "red": sum(c["red"] for c in lights), "yellow": sum(c["yellow"] for c in lights),
                "kpis_30d": kpi_values(month, code, _overdue(clocks, dim, code)),
            })
        return rows

    def _breakdown(self, now_hashes: Mapping[str, dict[str, int]], today: Mapping[str, int],
                   dim: str) -> list[dict[str, Any]]:
        cur = now_hashes.get(dim)
        if cur is None:
            return []  # a district scope has no per-source or per-category counters
        values = {k.split("|", 1)[0] for k in (*today, *cur)}
        rows = [{"code": v, "name": self._name(dim, v), "open": cur.get(f"{v}|open", 0),
                 "received_today": today.get(f"{v}|recv", 0), "closed_today": today.get(f"{v}|done", 0)}
                for v in values]
        return sorted(rows, key=lambda r: (-r["open"], r["code"]))

    def _name(self, dim: str, value: str) -> str:
        return self.source_names.get(value, value) if dim == "source" else category_name(value)

    def _trend(self, series: list[int], now: float) -> dict[str, Any]:
        """Received per hour, today against yesterday (``series``: 48 hours ending now)."""
        this_hour = datetime.fromtimestamp(now, BEIJING).hour
        today = series[-(this_hour + 1):]
        yesterday = series[-(this_hour + 25):-(this_hour + 1)]
        return {"hours": list(range(24)), "today": today, "yesterday": yesterday}

    def _ticker(self, raw: Iterable[bytes], sc: Scope) -> list[dict[str, Any]]:
        items = [orjson.loads(x) for x in raw]
        if sc.name != "city":
            items = [i for i in items if i.get("d") == sc.name]
        return items[:TICKER_SHOWN]


# --- pure helpers (shared with the rebuild and the tests) ---------------------------------------

def window_range(w: str, now: float) -> tuple[datetime, datetime]:
    end = datetime.fromtimestamp(now, BEIJING)
    midnight = end.replace(hour=0, minute=0, second=0, microsecond=0)
    if w == "today":
        return midnight, end
    if w == "24h":
        return end.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23), end
    days = 7 if w == "7d" else 30
    return midnight - timedelta(days=days - 1), end


def kpi_values(counts: Mapping[str, int], value: str, overdue: Mapping[str, int]) -> dict[str, Any]:
    """The KPIs of one area (``value``) from its window counts and its currently overdue clocks."""
    def c(metric: str) -> int:
        return counts.get(f"{value}|{metric}", 0)

    def stages(prefix: str, kinds: frozenset[str]) -> int:
        return sum(n for k, n in counts.items()
                   if k.startswith(f"{value}|{prefix}:") and k.rsplit(".", 1)[-1] in kinds)

    sign_late_open = sum(n for st, n in overdue.items() if st.rsplit(".", 1)[-1] in SIGN_STAGES)
    close_late_open = sum(n for st, n in overdue.items() if st.rsplit(".", 1)[-1] in CLOSE_STAGES)
    sign_stop, sign_ot = stages("stop", SIGN_STAGES), stages("ot", SIGN_STAGES)
    close_stop, close_ot = stages("stop", CLOSE_STAGES), stages("ot", CLOSE_STAGES)
    parts = {
        "received": c("recv"), "handled": c("done"), "handled_of_received": c("done_c"),
        "cancelled_of_received": c("cancel_c"), "signed": sign_stop, "signed_on_time": sign_ot,
        "sign_overdue_open": sign_late_open, "closed_stage": close_stop, "closed_on_time": close_ot,
        "close_overdue_open": close_late_open, "rated": c("rated"), "satisfied": c("satisfied"),
        "sent_back": c("redo"),
    }
    return {
        **parts,
        "closure": _rate(c("done_c"), c("recv") - c("cancel_c")),
        "ontime_sign": _rate(sign_ot, sign_stop + sign_late_open),
        "response": _rate(sign_stop, sign_stop + sign_late_open),
        "ontime_close": _rate(close_ot, close_stop + close_late_open),
        "satisfaction": _rate(c("satisfied"), c("rated")),
        "redo": _rate(c("redo"), c("done")),
    }


def _pairs(flat: list[bytes]) -> dict[str, int]:
    return {flat[i].decode(): int(flat[i + 1]) for i in range(0, len(flat), 2)}


def _overdue(clocks: Mapping[tuple[str, str, str], dict[str, int]], dim: str, value: str) -> dict[str, int]:
    return {stage: c["red"] for (stage, d, v), c in clocks.items() if d == dim and v == value}


def _rate(num: int, den: int) -> float | None:
    return round(100.0 * num / den, 2) if den > 0 else None


def _ints(h: Mapping[bytes, bytes]) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in h.items()}


def _s(v: str | bytes) -> str:
    return v.decode() if isinstance(v, bytes) else v


def _iso(d: datetime) -> str:
    return d.isoformat(timespec="seconds")


def category_name(value: str) -> str:
    try:
        return CATEGORY_ZH[Category(value)]
    except ValueError:
        return value
