"""The one typed settings object. Every field is documented in README.md (a test checks it).

Values come from environment variables prefixed ``PINGAN_`` (e.g. ``PINGAN_REDIS_URL``) or a
``.env`` file in the working directory. Build it once with :func:`get_settings` and pass it down.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PINGAN_", env_file=".env", extra="ignore")

    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis (or managed Redis) URL.")
    key_prefix: str = Field("pingan", description="Prefix of every Redis key this system writes.")
    registry: Path | None = Field(
        None, description="TOML file merged over the shipped registry of connected systems."
    )
    upstream: str = Field(
        "http://127.0.0.1:8060", description="Base URL that `{upstream}` in registry endpoints expands to."
    )
    data_dir: Path = Field(Path("var"), description="Working files: exchange DB, drop folders, archive.")
    city_adcode: str = Field("440700", description="The city this installation serves (6-digit adcode).")
    stream_maxlen: int = Field(2_000_000, description="Approximate cap on entries per source stream.")
    stream_retention_h: float = Field(24 * 30, description="Entries older than this are trimmed (hours).")
    dedup_window_h: float = Field(
        72, description="How long an event id is remembered for de-duplication (hours)."
    )
    dead_maxlen: int = Field(100_000, description="Approximate cap on the dead-letter stream.")
    dead_raw_bytes: int = Field(4096, description="Size cap of the (masked) raw copy kept with a reject.")
    health_ttl_s: int = Field(120, description="A feed's health record expires this long after its last poll.")
    lease_ttl_s: float = Field(10, description="A poller's lease on a feed; another process takes over after it.")
    http_timeout_s: float = Field(5, description="Timeout for one upstream HTTP request.")
    backoff_max_s: float = Field(60, description="Longest wait between polls of a failing feed.")
    degraded_after: int = Field(1, description="Consecutive failures before a feed shows degraded.")
    down_after: int = Field(5, description="Consecutive failures before a feed shows down.")
    poll_overlap_s: float = Field(
        120, description="Each poll window starts this far before the cursor, to catch late writes."
    )
    batch_size: int = Field(500, description="Events written to Redis per round trip.")
    # the shared clock (dashboard/contract/clock.py): now = origin + (wall time - origin) x speed
    clock_origin: float | None = Field(
        None, description="Epoch seconds at which the clock and wall time agree; needed when clock_speed is not 1."
    )
    clock_speed: float = Field(
        1.0, gt=0, description="Clock seconds per wall second for windows, SLA lights and as_of (demo: --speed)."
    )
    # live state (`pingan live`)
    sla_policies: Path | None = Field(
        None, description="TOML file of SLA policies used instead of the shipped dashboard/live/sla.toml."
    )
    archive_url: str | None = Field(
        None, description="SQLAlchemy URL of the event archive; default a SQLite file in data_dir."
    )
    password_min_length: int = Field(12, ge=8, description="Shortest password an account may have.")
    password_min_classes: int = Field(
        3, ge=1, le=4, description="Character classes (lower, upper, digits, other) a password must mix."
    )
    password_hash_memory_kib: int = Field(
        65536, ge=19456, description="Argon2id memory per hash (KiB); OWASP's floor is 19 MiB with time cost 2."
    )
    password_hash_time_cost: int = Field(3, ge=2, description="Argon2id passes per hash.")
    password_hash_parallelism: int = Field(4, ge=1, description="Argon2id lanes (threads) per hash.")
    password_history: int = Field(5, ge=1, description="A new password may not repeat any of this many recent ones.")
    export_max_rows: int = Field(200_000, ge=1, description="An export over HTTP of more cases than this is refused "
                                                             "(`pingan export` has no limit).")
    login_max_failures: int = Field(10, ge=3, description="Wrong passwords in a row that lock an account.")
    login_lock_s: float = Field(900, ge=60, description="How long a locked account stays locked (real time).")
    audit_retention_days: int = Field(
        365, ge=180, description="`pingan audit prune` deletes audit rows older than this (等保: 180 days at least)."
    )
    login_throttle_s: float = Field(
        60, ge=5, description="Window of the login throttles (real time): a throttled login waits at most this long."
    )
    login_account_burst: int = Field(5, ge=1, description="Wrong passwords for one account per window, then it waits.")
    login_address_burst: int = Field(20, ge=1, description="Failed logins from one address per window, then it waits.")
    session_idle_s: float = Field(1800, ge=60, description="A session unused this long ends (streams do not count).")
    session_max_s: float = Field(12 * 3600, ge=300, description="A session ends this long after its login.")
    secret_key: str | None = Field(
        None, description="Signs CSRF tokens; the same on every web worker. Default: data_dir/secret-key, made once."
    )
    cookie_secure: bool = Field(False, description="Send the session cookie over HTTPS only (set it when on TLS).")
    metrics_token: str | None = Field(
        None, description="When set, /metrics needs 'Authorization: Bearer <token>'; otherwise it is public."
    )
    audit_head_file: Path | None = Field(
        None, description="Where the audit log's newest row id and hash are also written; default data_dir/audit-head."
    )
    live_batch: int = Field(500, description="Stream entries a live worker reads per stream per round.")
    live_claim_idle_s: float = Field(
        30, description="Pending entries idle this long are claimed from a dead live worker."
    )
    snapshot_interval_s: float = Field(1.0, description="Board snapshots are rebuilt at most this often.")
    snapshot_heartbeat_s: float = Field(5.0, description="Board snapshots are rebuilt at least this often.")
    merge_window_s: float = Field(
        1800, description="Reports from different systems this close in time may be one incident (seconds)."
    )
    merge_distance_m: float = Field(300, description="… and this close in space (metres).")
    # web (`pingan web`)
    web_host: str = Field("127.0.0.1", description="Address the web server listens on.")
    web_port: int = Field(8050, description="Port of the web server (boards at /wall, health at /healthz).")
    web_workers: int = Field(2, description="gunicorn worker processes of the web server.")
    web_worker_class: Literal["gevent", "gthread"] = Field(
        "gevent", description="gunicorn worker class of the web server: `gevent` (a greenlet per request, "
        "web_connections a worker; decision 035) or `gthread` (a thread per request, web_threads a worker)."
    )
    web_threads: int = Field(
        64, description="Threads per `gthread` web worker; every open wall holds one for its push stream."
    )
    web_connections: int = Field(
        1000, description="Open connections (push streams included) per `gevent` web worker."
    )
    web_certfile: Path | None = Field(
        None, description="PEM certificate (chain): the web server speaks HTTPS itself (gunicorn's TLS)."
    )
    web_keyfile: Path | None = Field(None, description="PEM private key of web_certfile.")
    web_proxies: int = Field(
        0, ge=0, description="Reverse proxies in front that set X-Forwarded-For/-Proto/-Host (trusted this many hops)."
    )
    hsts_max_age_s: int = Field(
        31_536_000, ge=0, description="Strict-Transport-Security max-age on HTTPS responses (0: no header)."
    )
    oidc_issuer: str = Field(
        "", description="Single sign-on by OpenID Connect: the provider's issuer URL (its "
                        "/.well-known/openid-configuration is read). Empty: no OIDC login."
    )
    oidc_client_id: str = Field("", description="This site's client id at the OIDC provider.")
    oidc_client_secret: str = Field("", description="Its client secret.")
    oidc_scopes: str = Field("openid profile", description="Scopes asked of the OIDC provider.")
    cas_server_url: str = Field(
        "", description="Single sign-on by CAS 3.0: the server's base URL (https://cas.example.gov.cn/cas/). "
                        "Empty: no CAS login."
    )
    sso_name_claim: str = Field(
        "preferred_username", description="The claim (CAS: attribute) naming the person here; CAS falls back to "
                                          "its user, OIDC to sub."
    )
    sso_role_claim: str = Field("role", description="The claim (CAS: attribute) holding the person's role or groups.")
    sso_scope_claim: str = Field(
        "adcode", description="The claim (CAS: attribute) holding the adcode of the person's area (city or district)."
    )
    sso_role_map: dict[str, str] = Field(
        default_factory=dict,
        description="Upstream role or group → role here (JSON, e.g. {\"指挥中心值班\": \"duty\"}); upstream values "
                    "that are already role names here need no entry. A person with no mapped role is refused.",
    )
    sso_label: str = Field("统一身份认证", description="The single sign-on button's words on the login page.")
    second_factor_roles: str = Field(
        "sysadmin,secadmin,auditor",
        description="Roles whose logins need a second factor (TOTP), comma-separated; an account of another role "
                    "that has enrolled is asked too. The three administrators by default (等保).",
    )
    second_factor_issuer: str = Field("平安指挥中心", description="The name authenticator apps show for this site.")
    public_url: str = Field(
        "", description="The address people and screens open the web at (https://pingan.example.gov.cn): screen "
                        "links are printed with it. Empty: http(s)://web_host:web_port."
    )
    ui_lang: str = Field("zh", description="Default language of the boards: zh (简体中文) or en; ?lang= overrides.")
    tile_url: str = Field(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="Map tile URL template ({z}/{x}/{y}, {s} for subdomains); empty for no tiles "
                    "(boundaries and cases on a plain background).",
    )
    tile_datum: str = Field(
        "wgs84", description="Datum of the tiles: wgs84 (OSM), cgcs2000 (天地图) or gcj02 (AMap); "
                             "boundaries and markers are shifted to match."
    )
    tile_subdomains: str = Field("abc", description="Values of {s} in tile_url.")
    tile_attribution: str = Field("© OpenStreetMap", description="Attribution shown on the map.")
    tile_probe: bool = Field(
        True, description="Check once a minute that a tile loads; when none does, the map drops the tile "
                          "layer instead of showing broken images."
    )
    stream_max_age_s: float = Field(
        600, description="A wall's push stream is closed after this long and resumes at once (frees threads)."
    )
    wall_reload_h: float = Field(
        0, description="Walls reload themselves this often (hours; 0: never), on top of the stall watchdog."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
