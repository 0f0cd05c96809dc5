"""File-level helpers for the exchange database and the drop folders: atomic writes, CSV/XLSX
encoding, moving a folder or file aside (the "down" fault) and back."""

from __future__ import annotations

import csv
import io
import os
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook


def atomic_write(folder: Path, name: str, data: bytes) -> Path:
    """Write under a temporary dot-name, then rename: a poller never sees half a file."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.tmp"
    tmp.write_bytes(data)
    final = folder / name
    os.replace(tmp, final)
    return final


def csv_bytes(rows: list[dict[str, Any]], encoding: str) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def xlsx_bytes(rows: list[dict[str, Any]], when: datetime) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    header = list(rows[0])
    ws.append(header)
    for r in rows:
        ws.append([r.get(h) for h in header])
    stamp = when.replace(tzinfo=None)  # file properties follow simulated time, not the wall clock
    wb.properties.created = wb.properties.modified = stamp
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def aside(path: Path) -> Path:
    return path.parent / f".{path.name}.down"


def move_aside(path: Path) -> None:
    """Hide a file or folder (an upstream that is down); merge any leftover from before."""
    if not path.exists():
        return
    hidden = aside(path)
    if hidden.exists():
        _remove(hidden)
    os.replace(path, hidden)


def restore(path: Path) -> None:
    """Bring back what ``move_aside`` hid; if a poller recreated the folder, merge into it."""
    hidden = aside(path)
    if not hidden.exists():
        return
    if path.is_dir() and hidden.is_dir():
        for item in hidden.iterdir():
            target = path / item.name
            if not target.exists():
                os.replace(item, target)
        shutil.rmtree(hidden, ignore_errors=True)
    else:
        if path.exists():
            _remove(path)
        os.replace(hidden, path)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
