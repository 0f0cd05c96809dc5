"""How payloads are fetched from each kind of upstream: HTTP (paged or windowed), an SQL exchange
table, a drop folder. Each fetcher yields ``Batch`` objects and reports the cursor to save after
each one is written, so a crash between batches repeats at most one batch (de-duplicated).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import orjson
import sqlalchemy as sa
from defusedxml import ElementTree as DET

from dashboard.contract.event import BEIJING

FAR_FUTURE = timedelta(days=3650)


class UpstreamError(Exception):
    """A known upstream failure: unreachable, an HTTP error, a missing folder or table."""


@dataclass
class Batch:
    adapter: str
    payload: bytes
    cursor: dict[str, str] = field(default_factory=dict)  # saved after the batch is written
    on_written: Callable[[bool], None] | None = None  # called with failed=…; moves a file aside
    expected: int | None = None  # number of raw records, where the transport knows it


def iso(dt: datetime) -> str:
    return dt.astimezone(BEIJING).isoformat(timespec="seconds")


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=BEIJING)


def http_get(client: httpx.Client, url: str, params: dict[str, Any] | None = None) -> bytes:
    try:
        resp = client.get(url, params=params)
    except httpx.TimeoutException as exc:
        raise UpstreamError(f"timeout after {client.timeout.read}s: {url}") from exc
    except httpx.HTTPError as exc:
        raise UpstreamError(f"{type(exc).__name__}: {url}") from exc
    if resp.status_code >= 400:
        raise UpstreamError(f"HTTP {resp.status_code} from {url}")
    return resp.content


def count_records(payload: bytes, records_path: str | None) -> int | None:
    """How many raw records a JSON page holds (None if unknowable); drives pagination."""
    try:
        doc: Any = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    for part in [p for p in (records_path or "").split(".") if p]:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    if isinstance(doc, dict):
        doc = doc.get("incidents", doc.get("requests"))
    return len(doc) if isinstance(doc, list) else None


# ---------------------------------------------------------------- HTTP: since/limit windows (cad, json)
def since_pages(
    client: httpx.Client, url: str, adapter: str, since: datetime, limit: int, records_path: str | None,
    newest: Callable[[], datetime | None], max_pages: int = 50,
) -> Iterator[Batch]:
    """Pages of records updated at or after ``since``; the next page starts at the newest seen."""
    for _ in range(max_pages):
        body = http_get(client, url, {"since": iso(since), "limit": limit})
        n = count_records(body, records_path)
        yield Batch(adapter, body, expected=n)
        latest = newest()
        if n is None or n < limit or latest is None or latest <= since:
            return
        since = latest


# ---------------------------------------------------------------- HTTP: Open311 updated_datetime windows
def open311_pages(
    client: httpx.Client, endpoint: str, fmt: str, since: datetime, page_size: int, max_pages: int = 50
) -> Iterator[Batch]:
    from feeds.adapters.open311 import page_params

    url = f"{endpoint.rstrip('/')}/requests.{fmt}"
    for page in range(1, max_pages + 1):
        body = http_get(client, url, page_params(since, since + FAR_FUTURE, page, page_size))
        n = _open311_count(body, fmt)
        yield Batch("open311", body, expected=n)
        if n is None or n < page_size:
            return


def _open311_count(body: bytes, fmt: str) -> int | None:
    if fmt == "json":
        return count_records(body, None)
    try:
        root = DET.fromstring(body)
    except Exception:  # noqa: BLE001 - any XML failure means "unknown", the adapter reports it
        return None
    return sum(1 for el in root if el.tag.endswith("request"))


# ---------------------------------------------------------------- HTTP: CAP RSS/Atom index
def cap_items(client: httpx.Client, index_url: str, since: datetime | None) -> Iterator[Batch]:
    body = http_get(client, index_url)
    try:
        root = DET.fromstring(body)
    except Exception as exc:  # noqa: BLE001 - defusedxml raises several unrelated types
        raise UpstreamError(f"CAP index is not XML: {type(exc).__name__}") from exc
    items = []
    for item in root.iter():
        if not item.tag.endswith("item") and not item.tag.endswith("entry"):
            continue
        link, pub = _rss_link(item), _rss_date(item)
        if link and (since is None or pub is None or pub >= since):
            items.append((pub, urljoin(index_url, link)))
    items.sort(key=lambda x: (x[0] is None, x[0]))
    for pub, url in items:
        cursor = {"since": iso(pub)} if pub else {}
        yield Batch("cap", http_get(client, url), cursor=cursor, expected=1)


def _rss_link(item: Any) -> str | None:
    for child in item:
        if child.tag.endswith("link"):
            return (child.text or child.get("href") or "").strip() or None
    return None


def _rss_date(item: Any) -> datetime | None:
    for child in item:
        tag = child.tag.rsplit("}", 1)[-1]
        if tag in ("pubDate", "updated", "published") and child.text:
            text = child.text.strip()
            try:
                dt = parsedate_to_datetime(text) if tag == "pubDate" else datetime.fromisoformat(text)
            except (TypeError, ValueError):
                return None
            return dt if dt.tzinfo else dt.replace(tzinfo=BEIJING)
    return None


# ---------------------------------------------------------------- SQL exchange table (前置库)
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def make_engine(url: str) -> sa.Engine:
    """SQLite files are opened read-only so a missing file is an error, never a new empty DB."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        return sa.create_engine(
            "sqlite://", creator=lambda: sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, timeout=5, check_same_thread=False)
        )
    return sa.create_engine(url, pool_pre_ping=True, pool_size=2)


def sql_rows(
    engine: sa.Engine, table: str, watermark: str, key: str, cursor: dict[str, str], limit: int,
    max_pages: int = 50,
) -> Iterator[Batch]:
    """Keyset pagination on (watermark, key) over an append-only change table."""
    for name in (table, watermark, key):
        if not _IDENT.match(name):
            raise UpstreamError(f"bad SQL identifier in feed options: {name!r}")
    t = sa.table(table, sa.column(watermark), sa.column(key))
    w_col, k_col = t.c[watermark], t.c[key]
    last_w, last_k = cursor.get("watermark"), cursor.get("key")
    for _ in range(max_pages):
        q = sa.select(sa.text("*")).select_from(t).order_by(w_col, k_col).limit(limit)
        if last_w is not None:
            q = q.where(sa.or_(w_col > last_w, sa.and_(w_col == last_w, k_col > _as_key(last_k))))
        try:
            with engine.connect() as con:
                rows = [dict(r._mapping) for r in con.execute(q)]
        except sa.exc.SQLAlchemyError as exc:
            raise UpstreamError(f"exchange table {table}: {type(exc).__name__}: {exc.args[0][:200]}") from exc
        if not rows:
            return
        last_w, last_k = str(rows[-1][watermark]), str(rows[-1][key])
        body = orjson.dumps(rows, default=str)
        yield Batch("sql", body, cursor={"watermark": last_w, "key": last_k}, expected=len(rows))
        if len(rows) < limit:
            return


def _as_key(value: str | None) -> int | str:
    if value is not None and value.lstrip("-").isdigit():
        return int(value)
    return value or ""


# ---------------------------------------------------------------- drop folder (CSV / XLSX)
DROP_SUFFIXES = (".csv", ".xlsx", ".txt")


def folder_files(folder: Path, seen: Callable[[str], bool], remember: Callable[[str], None]) -> Iterator[Batch]:
    if not folder.is_dir():
        raise UpstreamError(f"drop folder not found: {folder}")
    files = [p for p in folder.iterdir()
             if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in DROP_SUFFIXES]
    for path in sorted(files, key=lambda p: (p.stat().st_mtime, p.name)):
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if seen(digest):
            _move(path, folder / "processed")
            continue

        def done(failed: bool, path: Path = path, digest: str = digest) -> None:
            remember(digest)
            _move(path, folder / ("failed" if failed else "processed"))

        yield Batch("csv", data, on_written=done)


def _move(path: Path, dest: Path) -> None:
    dest.mkdir(exist_ok=True)
    target = dest / path.name
    if target.exists():
        target = dest / f"{path.stem}.{int(path.stat().st_mtime_ns)}{path.suffix}"
    path.replace(target)
