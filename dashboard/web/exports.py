"""The case exports over HTTP: ``/api/export/cases.csv`` and ``/api/export/cases.xlsx``
(dashboard/history/export.py), inside the account's scope, each audited with its filters and rows.

Query parameters: ``from`` and ``to`` (dates, Beijing; ``to`` included) or times, ``district`` (an
adcode; default the account's scope), and any of the history API's dimensions (``category``,
``source``, ``department``, ``priority``, ``phase``, ``sla``, ``town``, ``village``, ``grid``; repeated
or comma-separated), ``lang`` (zh, en). A CSV streams as it is read; an XLSX is written to a
temporary file first. An export larger than ``export_max_rows`` is refused with its count (background
exports are not built yet: known issue 83).
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from flask import Response, request, send_file, stream_with_context
from flask_login import current_user
from pydantic import ValidationError

from dashboard.contract.board import resolve
from dashboard.contract.event import BEIJING
from dashboard.contract.settings import Settings
from dashboard.history import export
from dashboard.history import query as hq
from dashboard.web import auth

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def install(server: Any, engine: sa.Engine, settings: Settings, guard: auth.Auth) -> None:
    city = settings.city_adcode

    def asked() -> tuple[str, str, hq.Filter, dict[str, Any]]:
        """(level, code, filter, the filters as given) of the request; ValueError when malformed,
        PermissionError outside the account's scope."""
        args = request.args
        start, end = args.get("from", ""), args.get("to", "")
        values = {d: [v for raw in args.getlist(d) for v in raw.split(",") if v] for d in hq.DIMS if d != "district"}
        first, last = export.window(start, end)
        f = hq.Filter.model_validate({"start": first, "end": last, **values})
        district = args.get("district") or (current_user.scope if current_user.scope != city else "")
        scope = resolve(district or None, city)
        if scope is None:
            raise ValueError(f"district: {district!r} is not one of the city's districts")
        if not current_user.covers(scope.code, city):
            raise PermissionError(f"district: {scope.code} is outside your scope {current_user.scope}")
        given = {"from": start, "to": end, "district": scope.code if scope.level != "city" else "",
                 **{k: ",".join(map(str, v)) for k, v in values.items() if v}}
        return scope.level, scope.code, f, given

    def answer(fmt: export.Format) -> Any:
        user = current_user
        try:
            level, code, f, given = asked()
        except PermissionError as exc:
            guard.record(user.name, "export.cases", fmt, user.scope, "denied", {"filters": dict(request.args)})
            return _json({"error": str(exc)}, 403)
        except (ValueError, ValidationError) as exc:
            return _json({"error": hq.reason(exc)}, 400)
        total = export.count(engine, level, code, f)  # type: ignore[arg-type]
        if total > settings.export_max_rows:
            guard.record(user.name, "export.cases", fmt, code, "refused", {"filters": given, "rows": total})
            return _json({"error": f"{total:,} cases: more than export_max_rows ({settings.export_max_rows:,}); "
                                   "narrow the window or the filters"}, 413)
        lang = "en" if request.args.get("lang") == "en" else "zh"
        note = export.mark(user.name, time.time(), code, f, given, lang)
        lines = export.rows(engine, level, code, f)  # type: ignore[arg-type]
        name = f"cases-{code}-{datetime.now(BEIJING):%Y%m%d-%H%M%S}.{fmt}"
        disposition = {"Content-Disposition": f'attachment; filename="{name}"', "X-Rows": str(total)}
        if fmt == "xlsx":
            out = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 - send_file closes it
            n = export.write_xlsx(out, note, lines, user.name, lang)
            out.seek(0)
            guard.record(user.name, "export.cases", fmt, code, "ok", {"filters": given, "rows": n})
            sent = send_file(out, mimetype=XLSX, as_attachment=True, download_name=name)
            sent.headers["X-Rows"] = str(n)
            return sent

        def body() -> Any:
            written = [0]
            try:
                yield from export.csv_chunks(note, lines, written, lang)
            finally:  # a client that went away mid-way is in the log with the rows it was sent
                result = "ok" if written[0] == total else "aborted"
                guard.record(user.name, "export.cases", fmt, code, result, {"filters": given, "rows": written[0]})
        return Response(stream_with_context(body()), mimetype="text/csv", headers=disposition)

    @server.route("/api/export/cases.csv")
    def export_cases_csv() -> Any:
        return answer("csv")

    @server.route("/api/export/cases.xlsx")
    def export_cases_xlsx() -> Any:
        return answer("xlsx")


def _json(body: Any, status: int) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")
