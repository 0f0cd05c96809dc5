"""`pingan web`: the Dash app under gunicorn with threaded workers.

Every open wall holds one thread for its push stream, so workers are `gthread` (never the sync
default, where one wall would block a whole worker). Each worker builds its own app after the
fork, so no Redis connection is shared between processes.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from dashboard.contract.settings import Settings

GRACEFUL_S = 3  # open push streams never finish by themselves; browsers reconnect to the new worker


class _Gunicorn(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings, self.options = settings, options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from dashboard.web.app import create_app

        return create_app(self.settings).server


def streams(settings: Settings) -> int:
    """How many requests (open push streams among them) one web worker serves at once."""
    return settings.web_connections if settings.web_worker_class == "gevent" else settings.web_threads


def options(settings: Settings, host: str | None = None, port: int | None = None,
            workers: int | None = None) -> dict[str, Any]:
    tls = {"certfile": str(settings.web_certfile), "keyfile": str(settings.web_keyfile)} \
        if settings.web_certfile and settings.web_keyfile else {}
    return {
        **tls,
        "bind": f"{host or settings.web_host}:{port or settings.web_port}",
        "workers": workers or settings.web_workers, "worker_class": settings.web_worker_class,
        "threads": settings.web_threads, "worker_connections": settings.web_connections,
        "timeout": 60, "graceful_timeout": GRACEFUL_S, "keepalive": 5, "control_socket_disable": True,
        "accesslog": None, "errorlog": "-", "loglevel": "warning",
    }


def run(settings: Settings, host: str | None = None, port: int | None = None, workers: int | None = None) -> None:
    _Gunicorn(settings, options(settings, host, port, workers)).run()
