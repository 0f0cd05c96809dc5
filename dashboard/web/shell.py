"""The routes of a board that draws itself (Board.draws_itself: the leaders' tablet): its app config
and its service worker (docs/decisions/036).

Both are GET, so the service worker can keep them with the page's scripts and the data of the scopes
a tablet visited. The guard lets any account with the BOARDS permission reach them; the config asks,
as the board's page does, whether the account (or screen) may see the board at all.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from flask import Response, request

from dashboard.contract.board import Board
from dashboard.contract.settings import Settings
from dashboard.live.places import Places
from dashboard.web import auth
from layouts.frame import Site
from layouts.i18n import lang_of

CONFIG = "board_config"  # the endpoints' names before "@<board>" (what dashboard/web/auth.py NEEDS names)
WORKER = "board_worker"


def worker_of(board: Board) -> str:
    """The service worker's file under assets/: the renderer's name with ``-sw`` before ``.js``."""
    return board.renderer.removesuffix(".js") + "-sw.js"


def install(server: Any, settings: Settings, board: Board, site: Callable[[], Site], places: Places, build: str,
            assets: Path) -> None:
    module = importlib.import_module(board.layout)
    worker = (assets / worker_of(board)).read_bytes()

    def config() -> Any:
        viewer, _ = auth.viewer(settings.city_adcode, None, board.name, places)
        body = module.app_config(board, site(), viewer, lang_of(request.args.get("lang"), settings.ui_lang), build)
        return Response(orjson.dumps(body), mimetype="application/json", headers={"Cache-Control": "no-cache"})

    def service_worker() -> Any:
        # served from under the board's path and allowed to control the board's page itself
        return Response(worker, mimetype="text/javascript",
                        headers={"Service-Worker-Allowed": board.path, "Cache-Control": "no-cache"})

    server.add_url_rule(f"{board.path}/config.json", f"{CONFIG}@{board.name}", config)
    server.add_url_rule(f"{board.path}/sw.js", f"{WORKER}@{board.name}", service_worker)
