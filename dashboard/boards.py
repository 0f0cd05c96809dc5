"""The boards this installation serves, each one registration (see dashboard/contract/board.py).

Adding a board is a layout module (layouts/), a snapshot builder with its model (dashboard/live/),
a renderer (assets/boards/) and a registration here; nothing else names a board. docs and README
describe the wall and the emergency board as worked examples; the tablet renders itself in the
browser from GET requests only, so that it works offline (docs/decisions/036).
"""

from __future__ import annotations

from dashboard.contract.board import Board, Registry, Snapshot
from dashboard.live.emergency_board import EmergencyBuilder, EmergencySnapshot
from dashboard.live.wall_board import CaseMap, CaseMapBuilder, WallBuilder, WallSnapshot

WALL_FIGURES = Snapshot("wall", WallSnapshot, WallBuilder, on_demand=True,
                        description="the wall's figures: cases, KPIs, SLA lights, areas, trend, ticker")
CASE_MAP = Snapshot("wall-map", CaseMap, CaseMapBuilder, log=True, items="markers", every_s=2.0,
                    geojson=("markers",), description="every open case as a map marker")
EMERGENCY_PICTURE = Snapshot("emergency", EmergencySnapshot, EmergencyBuilder, geojson=("map_layer",),
                             description="typhoon, warnings, response level, mobilisation, the storm on the map")

WALL = Board(
    name="wall", path="/wall", title=("综合指挥中心 · 网格化治理态势", "Command Centre · Grid Governance"),
    snapshots=(WALL_FIGURES.name, CASE_MAP.name), layout="layouts.wall", renderer="boards/wall.js",
    stylesheet="boards/wall.css", order=10)
EMERGENCY = Board(
    name="emergency", path="/board/emergency",
    title=("三防应急指挥 · 台风与力量动员", "Emergency · typhoon & mobilisation"),
    snapshots=(EMERGENCY_PICTURE.name,), layout="layouts.emergency", renderer="boards/emergency.js",
    stylesheet="boards/emergency.css", alerts=True, order=20)
TABLET = Board(
    name="tablet", path="/tablet", title=("领导驾驶舱 · 逐级下钻", "Leaders' tablet · drill down"),
    snapshots=(WALL_FIGURES.name,), layout="layouts.tablet", renderer="boards/tablet.js",
    stylesheet="boards/tablet.css", levels=("city", "district", "town", "village", "grid"), rotation=False,
    draws_itself=True, home_for=("leader",), order=30)

REGISTRY = Registry([WALL_FIGURES, CASE_MAP, EMERGENCY_PICTURE], [WALL, EMERGENCY, TABLET])
