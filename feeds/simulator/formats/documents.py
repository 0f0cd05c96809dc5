"""Whole response documents: the envelope each JSON feed wraps its records in, and splicing of
injected records (served byte for byte as they were given, even when they are not valid)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

# feed -> (mapping.records path, envelope builder); the mapping profiles use the same paths
Envelope = Callable[[list[Any]], Any]
ENVELOPES: dict[str, tuple[str, Envelope]] = {
    "wg": ("data.list", lambda r: {"code": 0, "message": "成功", "data": {"total": len(r), "list": r}}),
    "tj": ("result.records", lambda r: {"success": True, "result": {"records": r, "total": len(r)}}),
    "aj": ("data.rows", lambda r: {"code": 200, "msg": "操作成功", "data": {"rows": r, "total": len(r)}}),
    "hb": ("rows", lambda r: {"total": len(r), "rows": r}),
    "wj": ("body.events", lambda r: {"header": {"code": "0", "msg": "ok"}, "body": {"events": r}}),
    "sp": ("data.list", lambda r: {"code": 0, "msg": "success", "data": {"list": r, "hasMore": False}}),
    "sw": ("items", lambda r: {"status": "ok", "count": len(r), "items": r}),
    "yj": ("data", lambda r: {"code": "0000", "msg": "查询成功", "data": r}),
    "hs": ("", lambda r: r),
}


@dataclass(frozen=True, slots=True)
class Raw:
    """An injected record: its bytes go into the document exactly as they were given."""

    data: bytes


def _marker(i: int) -> str:
    return f"\x01inject{i}\x01"


def dumps(items: list[Any], envelope: Envelope) -> bytes:
    """JSON of ``envelope(items)``; ``Raw`` items are spliced in byte for byte, in place."""
    raws = [x.data for x in items if isinstance(x, Raw)]
    marked, n = [], 0
    for x in items:
        if isinstance(x, Raw):
            marked.append(_marker(n))
            n += 1
        else:
            marked.append(x)
    body = orjson.dumps(envelope(marked))
    for i, raw in enumerate(raws):
        body = body.replace(orjson.dumps(_marker(i)), raw.strip() or b'""', 1)
    return body


def envelope_of(feed: str) -> Envelope:
    return ENVELOPES[feed][1]


def cad_envelope(records: list[Any]) -> Any:
    return {"incidents": records}


def bare(records: list[Any]) -> Any:
    return records
