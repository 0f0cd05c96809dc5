"""The places a scope can be, from the city down to one grid.

The city, its districts and its towns come from the administrative codes (dashboard/contract/geo.py).
Villages and grids come from the cases: a case's location names its town, village and grid, and the
live workers note each village's town and each grid's village (``live:places``, ``live:kids:*``).
A place stays known after its cases have left the streams; one no case has named is not a scope.
Villages and grids are shown by code: the upstreams' records name them, the events keep the codes.
"""

from __future__ import annotations

from functools import cached_property

import redis

from dashboard.contract.board import Scope, scopes
from dashboard.contract.geo import towns
from dashboard.contract.keys import Keys


class Places:
    def __init__(self, r: redis.Redis, keys: Keys, city: str) -> None:
        self.r, self.keys, self.city = r, keys, city

    @cached_property
    def _upper(self) -> dict[str, Scope]:
        """The city, its districts and its towns, by code."""
        out = {s.code: s for s in scopes(self.city)}
        districts = {s.code for s in out.values() if s.level == "district"}
        for t in towns(self.city):
            if t.adcode in districts:
                out[t.code] = Scope(t.code, "town", t.name)
        return out

    @cached_property
    def _town_district(self) -> dict[str, str]:
        return {t.code: t.adcode for t in towns(self.city)}

    def scope(self, code: str) -> Scope | None:
        """The scope a code names: the city, a district, a town, or a village or grid the cases named."""
        known = self._upper.get(code)
        if known is not None:
            return known
        level, _ = self._where(code)
        return Scope(code, level, code) if level in ("village", "grid") else None  # type: ignore[arg-type]

    def _where(self, code: str) -> tuple[str | None, str | None]:
        raw = self.r.hget(self.keys.places, code)
        if raw is None:
            return None, None
        level, _, parent = _text(raw).partition("|")
        return level, parent

    def parent(self, scope: Scope) -> str | None:
        if scope.level == "city":
            return None
        if scope.level == "district":
            return self.city
        if scope.level == "town":
            return self._town_district.get(scope.code)
        return self._where(scope.code)[1]

    def chain(self, scope: Scope) -> list[Scope]:
        """From the city down to ``scope`` (a leader's breadcrumbs; the guard's question of who covers it)."""
        out = [scope]
        code = self.parent(scope)
        while code is not None and len(out) < 6:
            above = self._upper.get(code)
            if above is not None:
                code = self.parent(above)
            else:  # a village or grid: its level and its parent in one read
                level, up = self._where(code)
                if level not in ("village", "grid"):
                    break
                above, code = Scope(code, level, code), up  # type: ignore[arg-type]
            out.append(above)
        return out[::-1]

    def district_of(self, scope: Scope) -> str | None:
        """The district a scope lies in (None for the city, or a place whose chain is broken)."""
        return next((s.code for s in self.chain(scope) if s.level == "district"), None)

    def children(self, scope: Scope) -> list[Scope]:
        """The places one level down, code order: districts, towns, or the villages and grids named."""
        if scope.level == "city":
            return [s for s in self._upper.values() if s.level == "district"]
        if scope.level == "district":
            return [s for s in self._upper.values() if s.level == "town" and self._town_district[s.code] == scope.code]
        if scope.level == "grid":
            return []
        below = "village" if scope.level == "town" else "grid"
        kids = sorted(_text(k) for k in self.r.smembers(self.keys.place_kids(scope.code)))
        where = self.r.hmget(self.keys.places, kids) if kids else []
        # only the level below: a grid named without its village lies in the town but is not one of its villages
        return [Scope(k, below, k) for k, w in zip(kids, where, strict=True)  # type: ignore[arg-type]
                if w is not None and _text(w).startswith(f"{below}|")]


def _text(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v
