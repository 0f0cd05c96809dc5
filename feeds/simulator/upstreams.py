"""The connected systems as the simulator needs them (the shipped dashboard/contract/systems.toml, merged
with an override file the same way ``dashboard.contract.systems`` does): adapter, endpoint path, datum."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dashboard.contract.systems import load_raw


@dataclass(frozen=True, slots=True)
class FeedInfo:
    code: str
    name: str
    adapter: str
    transport: str
    endpoint: str
    datum: str
    mapping: str | None
    options: dict[str, Any]

    @property
    def path(self) -> str:
        """The endpoint's last path segment (``reports`` in ``{upstream}/json/wg/reports``)."""
        return self.endpoint.rstrip("/").rsplit("/", 1)[-1]


def load_feeds(override: Path | None = None) -> dict[str, FeedInfo]:
    return {str(code): _info(str(code), t) for code, t in load_raw(override).items()}


def _info(code: str, t: dict[str, Any]) -> FeedInfo:
    mapping = t.get("mapping")
    return FeedInfo(code=code, name=t["name"], adapter=t["adapter"], transport=t["transport"],
                    endpoint=t["endpoint"], datum=t.get("datum", "wgs84"),
                    mapping=mapping if isinstance(mapping, str) else None, options=dict(t.get("options", {})))
