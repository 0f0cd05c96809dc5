"""The `csv` adapter: CSV and XLSX files from a drop folder, one record per row.

Column names are the mapping's paths. Without a configured mapping the built-in ``csv311``
profile reads generic 311 exports (Boston, NYC). A file that cannot be read as a whole gives one
Reject naming ``file``; a bad row gives a Reject whose ``record_key`` is ``"row N"`` (the sheet
row, header = row 1).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any, Final

import openpyxl

from feeds.adapters.base import Parsed, Reject
from feeds.adapters.mapping import (
    CompiledMapping,
    FieldError,
    apply_mapping,
    compile_mapping,
    is_empty,
    payload_snippet,
    resolve_mapping,
)

DEFAULT_PROFILE: Final = "csv311"
ZIP_MAGIC: Final = b"PK\x03\x04"  # XLSX is a zip archive
DELIMITERS: Final = ",;\t|"

Row = dict[str, Any]


def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[Parsed]:
    mapping = compile_mapping(resolve_mapping(options.get("mapping") or DEFAULT_PROFILE))
    try:
        for number, row in read_rows(payload):
            if not all(is_empty(v) for v in row.values()):
                yield _apply(row, number, mapping, options)
    except FieldError as err:
        yield Reject(str(err), raw=payload_snippet(payload))


def _apply(row: Row, number: int, mapping: CompiledMapping, options: Mapping[str, Any]) -> Parsed:
    result = apply_mapping(row, mapping, options)
    return replace(result, record_key=f"row {number}") if isinstance(result, Reject) else result


def read_rows(payload: bytes) -> Iterator[tuple[int, Row]]:
    """(sheet row number, {column: value}) for every data row; FieldError('file', …) if unreadable."""
    if payload.startswith(ZIP_MAGIC):
        return _xlsx_rows(payload)
    return _csv_rows(payload)


def _xlsx_rows(payload: bytes) -> Iterator[tuple[int, Row]]:
    try:
        book = openpyxl.load_workbook(io.BytesIO(payload), read_only=True, data_only=True)
        try:
            rows = list(book.worksheets[0].iter_rows(values_only=True))
        finally:
            book.close()
    # openpyxl reports a corrupt archive through zipfile, lxml, KeyError, IndexError, … — the set
    # is open-ended, and any of them means the same thing here: the file as a whole is unreadable.
    except Exception as err:  # noqa: BLE001
        raise FieldError("file", f"unreadable XLSX ({type(err).__name__})") from None
    if not rows:
        raise FieldError("file", "empty workbook")
    header = _header(rows[0])
    return ((i, _row(header, values)) for i, values in enumerate(rows[1:], start=2))


def _csv_rows(payload: bytes) -> Iterator[tuple[int, Row]]:
    text = _decode(payload)
    if not text.strip():
        raise FieldError("file", "empty")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
    try:
        header = _header(next(reader))
        for number, values in enumerate(reader, start=2):
            yield number, _row(header, values)
    except csv.Error as err:
        raise FieldError("file", f"line {reader.line_num}: {err}") from None


def _decode(payload: bytes) -> str:
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass  # Chinese desktop software saves GB18030 (GBK) by default
    try:
        return payload.decode("gb18030")
    except UnicodeDecodeError:
        raise FieldError("file", "neither UTF-8 nor GB18030 text") from None


def sniff_delimiter(text: str) -> str:
    """The most frequent of , ; TAB | in the header line (comma when none occurs)."""
    header = text.lstrip("\r\n").split("\n", 1)[0]
    best = max(DELIMITERS, key=header.count)
    return best if header.count(best) else ","


def _header(cells: Any) -> list[str]:
    names = ["" if c is None else str(c).strip() for c in cells]
    if not any(names):
        raise FieldError("file", "no header row")
    return names


def _row(header: list[str], values: Any) -> Row:
    row: Row = {}
    for name, value in zip(header, values, strict=False):
        if name and name not in row:  # a repeated column name: the first one counts
            row[name] = value
    return row
