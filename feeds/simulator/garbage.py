"""Malformed output for the ``garbage`` fault, cycling through three kinds: a truncated
document, a document of the wrong structure, and well-formed records with invalid values."""

from __future__ import annotations

from typing import Any

KINDS = ("truncated", "structure", "values")

BAD_VALUES: dict[str, Any] = {
    # JSON-style records
    "lat": 999.0, "long": -999.0, "latitude": 999.0, "longitude": -999.0, "LTTD": 999.0, "LGTD": -999.0,
    "gcjLat": 999.0, "gcjLng": -999.0, "requested_datetime": "昨天下午", "updated_datetime": "not-a-time",
    "lastUpdateTimeStamp": "2026-13-45T25:61:00+08:00", "updateTime": "not-a-time", "modifyTime": "??",
    "lastModified": "??", "TM": "24:99", "gpsTime": "--", "status": "???", "handleStatus": "???",
    "caseStatus": "???", "rectifyStatus": "???", "state": "???", "eventStatus": "???", "navStatus": "???",
    # rows
    "status_code": "ZZ", "register_time": "昨天下午", "经度": "abc", "纬度": "999", "状态": "???",
    "办理状态": "???", "更新时间": "not a time",
}


def truncate(body: bytes) -> bytes:
    """Cut a document in the middle (possibly inside a multi-byte character)."""
    return body[: max(1, len(body) // 2 + 1)]


def spoil(record: Any) -> Any:
    """The same record with its coordinates, times and statuses made invalid."""
    if not isinstance(record, dict):
        return {"invalid": True}
    out = {k: (BAD_VALUES[k] if k in BAD_VALUES else spoil(v) if isinstance(v, dict) else v)
           for k, v in record.items()}
    return out


WRONG_JSON = '{"error": {"code": "E_SYSTEM", "message": "系统繁忙"}, "data": "none"}'.encode()
WRONG_XML = b'<?xml version="1.0"?><html><body><h1>Service Unavailable</h1></body></html>'
WRONG_CSV = b"foo,bar,baz\r\n1,2,3\r\n"
HTML_500 = (b"<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head><body>"
            b"<h1>Internal Server Error</h1><p>java.lang.NullPointerException at "
            b"com.gov.gateway.ApiController.query(ApiController.java:118)</p></body></html>")
