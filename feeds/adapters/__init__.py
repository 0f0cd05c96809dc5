"""Adapters: upstream payload (bytes) → candidate events and rejects. See feeds/FORMATS.md."""

from __future__ import annotations

from importlib import import_module

from feeds.adapters.base import Adapter

# adapter name -> (module, function); imported lazily so a CLI call loads only what it uses
_ADAPTERS: dict[str, tuple[str, str]] = {
    "open311": ("feeds.adapters.open311", "parse"),
    "cap": ("feeds.adapters.cap", "parse"),
    "cma-bst": ("feeds.adapters.typhoon", "parse_bst"),
    "typhoon-json": ("feeds.adapters.typhoon", "parse_json"),
    "cad": ("feeds.adapters.cad", "parse"),
    "csv": ("feeds.adapters.tabular", "parse"),
    "json": ("feeds.adapters.mapping", "parse_json"),
    "sql": ("feeds.adapters.mapping", "parse_json"),
}

PARSE_ADAPTERS = ("open311", "cap", "cma-bst", "typhoon-json", "cad", "csv", "json")


def get_adapter(name: str) -> Adapter:
    try:
        module, fn = _ADAPTERS[name]
    except KeyError:
        raise ValueError(f"unknown adapter {name!r}; known: {', '.join(_ADAPTERS)}") from None
    adapter: Adapter = getattr(import_module(module), fn)
    return adapter
