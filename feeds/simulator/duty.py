"""What the command does as the response level moves (yj), planned at each level change as dated
records that the model emits when their time comes (delays drawn from the seed):

- CHECKIN (网格员吹哨、部门报到): from level III every grid of the city checks in within about two
  hours, grid workers and the departments' staff sent to it; a new version (more staff) when the
  level is raised again; 解除 when the level falls below III.
- CLOSURE: from level II roads, bridges, ferries, scenic and coastal areas are closed (封闭), more
  in the districts hit harder; lifted (解除) over a few hours once the level falls below II.
- TASK: each raise dispatches the new level's command tasks to every district: 下达, 执行中,
  完成 (most before their deadline).
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from feeds.simulator.geography import CityGeo, Grid
from feeds.simulator.response import Emergency, Response

DEPTS = ("{d}应急管理局", "{d}水利局", "{d}自然资源局", "{d}住房和城乡建设局", "{d}交通运输局",
         "{d}农业农村局", "{t}派出所", "{t}消防救援站", "{t}供电所", "{t}卫生院", "{t}综合行政执法办",
         "{t}民兵应急分队")
STAFF = {2: (1, 3), 3: (2, 5), 4: (4, 8)}  # departments' people sent to each grid, by severity
CLOSURE_KINDS = (("道路", 40), ("桥梁", 20), ("渡口", 15), ("景区", 15), ("区域", 10))
ROADS = ("滨海大道", "沿江路", "环城路", "新城大道", "港口路", "潭江大道", "迎宾大道", "侨乡大道", "工业大道")
BRIDGES = ("潭江大桥", "江门大桥", "外海大桥", "银洲湖大桥", "镇海湾大桥", "西江大桥", "北街大桥", "睦洲大桥")
SPOTS = {"渡口": ("渡口",), "景区": ("海滨景区", "森林公园", "温泉度假区", "古村落景区"),
         "区域": ("沿海低洼区域", "山体滑坡隐患区", "海堤外滩涂")}
# severity -> (task, assignee, hours to the deadline)
TASKS: dict[int, tuple[tuple[str, str, int], ...]] = {
    1: (("加强值班值守", "{d}应急管理局", 2), ("发布防御指引", "{d}气象局", 2)),
    2: (("渔船回港避风", "{d}农业农村局", 4), ("巡查山塘水库", "{d}水利局", 6),
        ("加固临时建筑", "{d}住房和城乡建设局", 6), ("排查地质灾害隐患点", "{d}自然资源局", 6)),
    3: (("转移低洼地区群众", "{d}应急管理局", 4), ("落实停课停工停业", "{d}教育局", 3),
        ("封闭危险路段和桥梁", "{d}交通运输局", 3)),
    4: (("抢险救援队伍前置待命", "{c}消防救援支队{d}大队", 2), ("全面转移危险区域人员", "{d}应急管理局", 3),
        ("保障供电供水通信", "{c}供电局{d}分局", 6)),
}
LATE_P = 0.08  # share of tasks completed after their deadline


@dataclass(frozen=True, slots=True)
class CheckIn:
    case: str
    time: datetime
    first: datetime  # the grid's first check-in of the episode
    action: str  # 报到 | 解除
    grid: Grid
    adcode: str
    lat: float
    lon: float
    workers: int
    depts: tuple[str, ...]
    staff: int
    level: int = 0  # the city's severity when the record was made (set on emission)


@dataclass(frozen=True, slots=True)
class Closure:
    case: str
    time: datetime
    since: datetime
    action: str  # 封闭 | 解除
    kind: str
    name: str
    reason: str
    adcode: str
    town: str
    lat: float
    lon: float
    level: int = 0


@dataclass(frozen=True, slots=True)
class Task:
    case: str
    time: datetime
    issued: datetime
    action: str  # 下达 | 执行中 | 完成
    name: str
    assignee: str
    adcode: str
    deadline: datetime
    level: int = 0


class Duty:
    def __init__(self, seed: int, city: CityGeo, emergency: Emergency) -> None:
        self.seed, self.city, self.emergency = seed, city, emergency
        self._district_of = {t.code: t.adcode for t in city.towns}
        self._heap: list[tuple[datetime, int, Any]] = []
        self._n = 0
        self._on_duty: dict[str, CheckIn] = {}  # grid id -> its latest planned check-in
        self._closed: list[Closure] = []
        self._points: dict[str, tuple[float, float]] = {}

    def plan(self, resp: Response) -> None:
        """Everything a level change sets in motion."""
        if resp.severity >= 2 and resp.severity > resp.previous:
            self._check_in(resp)
        elif resp.severity < 2 <= resp.previous:
            self._stand_down(resp.time)
        if resp.severity >= 3 > resp.previous:
            self._close(resp)
        elif resp.severity < 3 <= resp.previous:
            self._reopen(resp.time)
        for sev in range(resp.previous + 1, resp.severity + 1):
            self._tasks(resp.time, sev)

    def due(self, upto: datetime, before: bool = False) -> list[Any]:
        """Planned records with time <= ``upto`` (< with ``before``), in time order, each with the
        city's level at its time."""
        out = []
        while self._heap and (self._heap[0][0] < upto or (not before and self._heap[0][0] == upto)):
            t, _, fact = heapq.heappop(self._heap)
            out.append(replace(fact, level=self.emergency.severity_at(t)))
        return out

    def _push(self, fact: Any) -> None:
        self._n += 1
        heapq.heappush(self._heap, (fact.time, self._n, fact))

    def _rng(self, *parts: object) -> random.Random:
        return random.Random(":".join(map(str, (self.seed, "duty", *parts))))

    # -- check-ins -------------------------------------------------------------------------------
    def _check_in(self, resp: Response) -> None:
        episode = self.emergency.episode_start or resp.time
        for grid in self.city.grids:
            rng = self._rng("checkin", grid.id, resp.time.timestamp())
            before = self._on_duty.get(grid.id)
            again = before is not None and before.action == "报到"
            low, high, mode = (2, 90, 20) if again else (3, 110, 30)
            at = resp.time + timedelta(minutes=rng.triangular(low, high, mode), seconds=rng.randrange(60))
            at = max(at, before.time + timedelta(minutes=1)) if before else at
            town = grid.village.town
            adcode = self._district_of[town]
            staff = rng.randint(*STAFF[resp.severity])
            names = [t.format(d=self.city.district_names[adcode], t=self.city.town_names[town]) for t in DEPTS]
            depts = tuple(sorted(rng.sample(names, min(staff, len(names))), key=names.index))
            lat, lon = self._point(grid, adcode)
            first = before.first if again and before else at.replace(microsecond=0)
            fact = CheckIn(f"BD{grid.id}{episode:%Y%m%d%H%M}", at.replace(microsecond=0), first, "报到", grid,
                           adcode, lat, lon, random.Random(f"grid-workers:{grid.id}").randint(1, 3), depts, staff)
            self._on_duty[grid.id] = fact
            self._push(fact)

    def _stand_down(self, t: datetime) -> None:
        for grid_id, last in self._on_duty.items():
            rng = self._rng("checkout", grid_id, t.timestamp())
            at = max(t + timedelta(minutes=rng.uniform(5, 60)), last.time + timedelta(minutes=5))
            self._push(replace(last, time=at.replace(microsecond=0), action="解除"))
        self._on_duty.clear()

    def _point(self, grid: Grid, adcode: str) -> tuple[float, float]:
        if grid.id not in self._points:
            self._points[grid.id] = self.city.point_in(adcode, random.Random(f"grid-point:{grid.id}"))
        return self._points[grid.id]

    # -- closures --------------------------------------------------------------------------------
    def _close(self, resp: Response) -> None:
        hazard = "台风" if resp.hazard == "防风" else "强降雨"
        for d in self.city.districts:
            rng = self._rng("closure", d.adcode, resp.time.timestamp())
            rank = self.emergency.district_rank(d.adcode, resp.time)
            for n in range(1, 3 + 2 * rank):
                kind = rng.choices([k for k, _ in CLOSURE_KINDS], [w for _, w in CLOSURE_KINDS])[0]
                town = rng.choice(self.city.towns_of(d.adcode))
                at = resp.time + timedelta(minutes=rng.uniform(10, 120))
                lat, lon = self.city.point_in(d.adcode, rng)
                fact = Closure(f"GK{d.adcode}{resp.time:%Y%m%d%H%M}{n:02d}", at.replace(microsecond=0),
                               at.replace(microsecond=0), "封闭", kind, _closure_name(rng, kind, d.name, town.name),
                               f"防御{hazard}，{kind}临时封闭，请绕行", d.adcode, town.code, lat, lon)
                self._closed.append(fact)
                self._push(fact)

    def _reopen(self, t: datetime) -> None:
        for c in self._closed:
            rng = self._rng("reopen", c.case)
            at = max(t + timedelta(minutes=rng.uniform(20, 240)), c.time + timedelta(minutes=10))
            again = f"{c.kind}恢复通行" if c.kind in ("道路", "桥梁", "渡口") else "恢复开放"
            self._push(replace(c, time=at.replace(microsecond=0), action="解除", reason=f"险情解除，{again}"))
        self._closed.clear()

    # -- tasks -----------------------------------------------------------------------------------
    def _tasks(self, t: datetime, sev: int) -> None:
        for d in self.city.districts:
            for n, (name, who, hours) in enumerate(TASKS[sev], 1):
                rng = self._rng("task", d.adcode, t.timestamp(), sev, n)
                issued = (t + timedelta(minutes=rng.uniform(3, 20))).replace(microsecond=0)
                deadline = issued + timedelta(hours=hours)
                share = rng.uniform(1.05, 1.4) if rng.random() < LATE_P else rng.uniform(0.4, 0.95)
                task = Task(f"RW{d.adcode}{t:%Y%m%d%H%M}{sev}{n:02d}", issued, issued, "下达", name,
                            who.format(d=d.name, c=self.city.name), d.adcode, deadline)
                working = issued + timedelta(minutes=rng.uniform(10, 45))
                done = max(issued + (deadline - issued) * share, working + timedelta(minutes=5))
                self._push(task)
                self._push(replace(task, time=working.replace(microsecond=0), action="执行中"))
                self._push(replace(task, time=done.replace(microsecond=0), action="完成"))


def _closure_name(rng: random.Random, kind: str, district: str, town: str) -> str:
    short = town.removesuffix("街道").removesuffix("镇")
    if kind == "道路":
        return f"{district}{rng.choice(ROADS)}（{short}段）"
    if kind == "桥梁":
        return f"{district}{rng.choice(BRIDGES)}"
    return f"{district}{short}{rng.choice(SPOTS[kind])}"
