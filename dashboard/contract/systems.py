"""The registry of connected systems: the shipped ``systems.toml`` merged with an override file.

A new system that speaks Open311, CAP, CAD JSON, CSV or mapped JSON needs an entry here, not code.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from dashboard.contract.geo import Datum
from dashboard.contract.settings import Settings

ADAPTERS = ("open311", "cap", "cma-bst", "typhoon-json", "cad", "csv", "json", "sql")
TRANSPORTS = ("http", "sql", "folder")


@dataclass(frozen=True)
class Feed:
    code: str
    name: str
    adapter: str
    transport: str
    endpoint: str
    interval_s: float
    datum: str = Datum.wgs84.value
    sla: str = "none"
    mapping: Mapping[str, Any] | None = None  # compiled (feeds.adapters.mapping.compile_mapping)
    options: dict[str, Any] = field(default_factory=dict)

    def adapter_options(self) -> dict[str, Any]:
        """What the adapter receives: the feed's options plus source, datum and mapping."""
        opts: dict[str, Any] = {**self.options, "source": self.code, "datum": self.datum}
        if self.mapping is not None:
            opts["mapping"] = self.mapping
        return opts


class RegistryError(ValueError):
    """The registry file is wrong: configuration, reported at start, never at poll time."""


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_raw(override: Path | None = None) -> dict[str, dict[str, Any]]:
    shipped = tomllib.loads(resources.files("dashboard.contract").joinpath("systems.toml").read_text("utf-8"))
    feeds: dict[str, dict[str, Any]] = shipped.get("feeds", {})
    if override is not None:
        try:
            extra = tomllib.loads(Path(override).read_text("utf-8")).get("feeds", {})
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise RegistryError(f"registry override {override}: {exc}") from exc
        feeds = _merge(feeds, extra)
    return feeds


def _expand(template: str, settings: Settings) -> str:
    return template.replace("{upstream}", settings.upstream.rstrip("/")).replace(
        "{data_dir}", str(Path(settings.data_dir).resolve())
    )


def _build(code: str, raw: dict[str, Any], settings: Settings) -> Feed:
    from feeds.adapters.mapping import compile_mapping, resolve_mapping

    missing = [k for k in ("name", "adapter", "transport", "endpoint") if k not in raw]
    if missing:
        raise RegistryError(f"feed {code}: missing {', '.join(missing)}")
    if raw["adapter"] not in ADAPTERS:
        raise RegistryError(f"feed {code}: adapter {raw['adapter']!r} is not one of {ADAPTERS}")
    if raw["transport"] not in TRANSPORTS:
        raise RegistryError(f"feed {code}: transport {raw['transport']!r} is not one of {TRANSPORTS}")
    try:
        datum = Datum(raw.get("datum", "wgs84")).value
    except ValueError as exc:
        raise RegistryError(f"feed {code}: datum {raw.get('datum')!r} unknown") from exc
    mapping = None
    if raw.get("mapping") is not None:
        try:
            spec = dict(resolve_mapping(raw["mapping"]))
            if raw["transport"] == "sql":
                spec["records"] = ""  # the poller hands the adapter a JSON list of rows
            mapping = compile_mapping(spec)
        except (ValueError, OSError) as exc:
            raise RegistryError(f"feed {code}: mapping: {exc}") from exc
    return Feed(
        code=code, name=raw["name"], adapter=raw["adapter"], transport=raw["transport"],
        endpoint=_expand(raw["endpoint"], settings), interval_s=float(raw.get("interval_s", 10)),
        datum=datum, sla=raw.get("sla", "none"), mapping=mapping, options=dict(raw.get("options", {})),
    )


def load_feeds(settings: Settings) -> dict[str, Feed]:
    """All feeds, validated; raises RegistryError naming the feed and the key at fault."""
    return {code: _build(code, raw, settings) for code, raw in load_raw(settings.registry).items()}
