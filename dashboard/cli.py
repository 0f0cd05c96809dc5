"""`pingan`: the one console command. Each sub-command is a thin wrapper over a module's run()."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from dashboard.contract.settings import Settings

if TYPE_CHECKING:
    from dashboard.accounts.account_store import Account, AccountStore


def _parse_volumes(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        code, _, n = item.partition("=")
        out[code] = float(n)
    return out


def _scenario_args(a: argparse.Namespace) -> list[str]:
    """The scenario flags as the simulator takes them (the demo hands them to its simulator)."""
    if not a.scenario:
        if a.track or a.storm:
            raise SystemExit("pingan: --track and --storm belong to a scenario: add --scenario typhoon")
        return []
    if a.track and not Path(a.track).is_file():
        raise SystemExit(f"pingan: --track {a.track}: no such file")
    out = ["--scenario", a.scenario, "--lead-h", repr(a.lead_h)]
    out += ["--track", str(Path(a.track).resolve())] if a.track else []
    return out + (["--storm", a.storm] if a.storm else [])


def cmd_demo(a: argparse.Namespace, s: Settings) -> int:
    from dashboard.demo import supervisor as demo

    speed = a.speed if a.speed is not None else demo.SCENARIO_SPEED if a.scenario else demo.DEFAULT_SPEED
    return demo.run(a.port, a.sim_port, a.seed, speed, Path(a.data_dir or s.data_dir), a.workers, a.redis_port,
                    a.backfill_h, scenario=_scenario_args(a), history_days=a.history_days)


def cmd_simulate(a: argparse.Namespace, s: Settings) -> int:
    from feeds.simulator.scenario import Scenario
    from feeds.simulator.server import serve

    _scenario_args(a)  # checks the track file before the simulator builds its world
    scenario = Scenario(a.scenario, Path(a.track) if a.track else None, a.storm, a.lead_h) if a.scenario else None
    serve(a.host, a.port, seed=a.seed, speed=a.speed, data_dir=Path(a.data_dir or s.data_dir),
          city=a.city or s.city_adcode, volumes=_parse_volumes(a.volume) or None, backfill_h=a.backfill_h,
          registry=s.registry, scenario=scenario)
    return 0


def _add_scenario_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", choices=["typhoon"],
                   help="a world built around one event: typhoon (a replayed track, or a generated storm)")
    p.add_argument("--track", help="typhoon: replay this track (CMA best track CHyyyyBST.txt or the real-time JSON)")
    p.add_argument("--storm", help="typhoon: the storm of the track file (1822, 201822, Mangkhut …)")
    p.add_argument("--lead-h", type=float, default=48.0,
                   help="typhoon: the simulation starts this many hours before the storm's closest approach")


def cmd_ingest(a: argparse.Namespace, s: Settings) -> int:
    from feeds import ingest

    ingest.run(s, only=a.feed or None, once=a.once)
    return 0


def cmd_status(a: argparse.Namespace, s: Settings) -> int:
    import redis

    from dashboard.contract.feed_health import collect, render_table
    from dashboard.contract.keys import Keys
    from dashboard.contract.systems import load_feeds

    try:
        rep = collect(redis.Redis.from_url(s.redis_url), Keys.from_settings(s), load_feeds(s), s)
    except redis.RedisError as exc:
        print(f"pingan status: Redis at {s.redis_url} unavailable: {exc}", file=sys.stderr)
        return 2
    print(orjson.dumps(rep, option=orjson.OPT_INDENT_2).decode() if a.json else render_table(rep))
    return 0 if rep["summary"]["down"] == 0 else 1


def cmd_feeds_parse(a: argparse.Namespace, s: Settings) -> int:
    from dashboard.contract.systems import load_feeds
    from feeds.adapters.base import Reject
    from feeds.pipeline import Pipeline

    opts: dict[str, object] = {"source": a.source, "datum": a.datum}
    if a.feed:
        opts = load_feeds(s)[a.feed].adapter_options()
    if a.storm:
        opts["storm"] = a.storm
    payload = Path(a.file).read_bytes()
    n_ok = n_bad = 0
    out = sys.stdout.buffer
    for item in Pipeline(s.city_adcode).run(a.adapter, payload, opts):
        if isinstance(item, Reject):
            n_bad += 1
            print(f"reject: {item.reason}" + (f" [{item.record_key}]" if item.record_key else ""), file=sys.stderr)
        else:
            n_ok += 1
            out.write(item.model_dump_json(by_alias=True).encode() + b"\n")
    out.flush()
    print(f"{n_ok} events, {n_bad} rejects", file=sys.stderr)
    return 0 if n_bad == 0 else 1


def cmd_feeds_list(a: argparse.Namespace, s: Settings) -> int:
    from dashboard.contract.systems import load_feeds

    for code, f in load_feeds(s).items():
        print(f"{code:<7}{f.adapter:<14}{f.transport:<8}{f.interval_s:>5g}s  {f.name}  {f.endpoint}")
    return 0


def cmd_live(a: argparse.Namespace, s: Settings) -> int:
    from dashboard.live import worker

    worker.run(s, archive=not a.no_archive, snapshots=not a.no_snapshots, once=a.once)
    return 0


def cmd_rebuild(a: argparse.Namespace, s: Settings) -> int:
    import redis

    from dashboard.contract.keys import Keys
    from dashboard.contract.systems import load_feeds
    from dashboard.live.rebuild import rebuild
    from dashboard.live.sla import Policies

    if a.scope:
        return _rebuild_scopes(a, s)
    rep = rebuild(redis.Redis.from_url(s.redis_url), Keys.from_settings(s), load_feeds(s), s,
                  Policies.load(s.sla_policies), apply=a.apply)
    if a.json:
        print(orjson.dumps(rep, option=orjson.OPT_INDENT_2).decode())
    else:
        print(f"replayed {rep['events']:,} events into {rep['cases']:,} cases "
              f"(live state holds {rep['live_cases']:,}); differences: {rep['differences']}")
        for kind, d in rep["report"].items():
            print(f"  {kind:<9} missing {d['missing']}, extra {d['extra']}, different {d['different']}")
        if rep["applied"]:
            print("live state replaced by the replay")
    return 0 if rep["differences"] == 0 or rep["applied"] else 1


def _rebuild_scopes(a: argparse.Namespace, s: Settings) -> int:
    """Each scope's figures as the workers keep them and as a replay of the streams computes them."""
    import redis

    from dashboard.boards import REGISTRY
    from dashboard.contract.clock import Clock
    from dashboard.contract.keys import Keys
    from dashboard.contract.systems import load_feeds
    from dashboard.live.publish import LiveContext
    from dashboard.live.rebuild import scope_figures
    from dashboard.live.sla import Policies

    ctx = LiveContext(redis.Redis.from_url(s.redis_url), Keys.from_settings(s), s, Policies.load(s.sla_policies),
                      Clock.from_settings(s), load_feeds(s), REGISTRY)
    found = scope_figures(ctx, a.scope)
    if a.json:
        print(orjson.dumps(found if len(a.scope) > 1 else found[a.scope[0]], option=orjson.OPT_INDENT_2).decode())
    for code, f in found.items():
        if f["level"] is None:
            print(f"pingan rebuild: {code} is no place of the city the cases have named", file=sys.stderr)
        elif not a.json:
            c = f["rebuilt"]["cases"]
            print(f"{code} ({f['level']}): open {c['open']}, urgent {c['urgent_open']}; "
                  f"{'equal to the live figures' if f['equal'] else 'DIFFERENT from the live figures'}")
    return 0 if all(f["equal"] for f in found.values()) else 1


def cmd_users(a: argparse.Namespace, s: Settings) -> int:
    import getpass
    import socket

    from dashboard.accounts.account_store import AccountError, AccountStore
    from dashboard.accounts.audit_log import AuditLog
    from dashboard.accounts.passwords import PasswordPolicyError

    store = AccountStore.from_settings(s)
    audit = AuditLog.from_settings(s, store.engine)
    subject, client = f"cli:{getpass.getuser()}", f"cli@{socket.gethostname()}"[:64]
    try:
        if a.users_cmd == "list":
            return _list_users(store, a.json)
        try:
            acc = _change_user(store, a)
        except (AccountError, PasswordPolicyError) as exc:
            audit.append(subject, f"account.{a.users_cmd}", a.name, getattr(a, "scope", None) or s.city_adcode,
                         "refused", client, {"reason": str(exc), "role": getattr(a, "role", None)})
            print(f"pingan users {a.users_cmd}: {exc}", file=sys.stderr)
            return 2
        ended = _web_side(s, acc.name, a.users_cmd)
        audit.append(subject, f"account.{a.users_cmd}", acc.name, acc.scope, "ok", client,
                     {"role": acc.role.value, "must_change": acc.must_change, "disabled": acc.disabled,
                      "sessions_ended": ended})
        print(f"{a.users_cmd}: {acc.name} ({acc.role.value}, scope {acc.scope})"
              + ("; the password must be changed at the next login" if acc.must_change else "")
              + (f"; {ended} open session(s) ended" if ended else ""))
        return 0
    finally:
        store.close()


def screen_url(s: Settings, key: str) -> str:
    """The link a wall PC opens once to become its screen."""
    base = s.public_url.rstrip("/") or \
        f"{'https' if s.web_certfile else 'http'}://{s.web_host}:{s.web_port}"
    return f"{base}/screen?key={key}"


def cmd_screens(a: argparse.Namespace, s: Settings) -> int:
    import getpass
    import socket

    import redis

    from dashboard.accounts.account_store import AccountError, AccountStore
    from dashboard.accounts.audit_log import AuditLog
    from dashboard.accounts.screens import ScreenStore
    from dashboard.boards import REGISTRY
    from dashboard.contract.event import BEIJING

    accounts = AccountStore.from_settings(s)
    r = redis.Redis.from_url(s.redis_url, socket_timeout=5)
    store = ScreenStore.from_settings(s, r, tuple(b.name for b in REGISTRY.boards), accounts.engine)
    audit = AuditLog.from_settings(s, accounts.engine)
    subject, client = f"cli:{getpass.getuser()}", f"cli@{socket.gethostname()}"[:64]
    try:
        if a.screens_cmd == "list":
            found = store.list()
            if a.json:
                return _print_json({"screens": [x.public() for x in found]})
            for x in found:
                state = f"revoked {x.revoked_at.astimezone(BEIJING):%Y-%m-%d %H:%M}" if x.revoked_at else \
                    f"last used {x.last_used_at.astimezone(BEIJING):%Y-%m-%d %H:%M}" if x.last_used_at else "never used"
                print(f"{x.name:<20} {','.join(x.boards):<20} {x.scope:<7} rotate {x.rotate_s:>3} s  {state}")
            return 0
        try:
            if a.screens_cmd == "add":
                screen, key = store.add(a.name, a.boards.split(","), a.scope, a.rotate)
            else:
                screen, key = store.revoke(a.name), ""
        except (AccountError, redis.RedisError) as exc:
            audit.append(subject, f"screen.{a.screens_cmd}", a.name, getattr(a, "scope", None) or s.city_adcode,
                         "refused", client, {"reason": str(exc)})
            print(f"pingan screens {a.screens_cmd}: {exc}", file=sys.stderr)
            return 2
        audit.append(subject, f"screen.{a.screens_cmd}", screen.name, screen.scope, "ok", client,
                     {"boards": list(screen.boards), "rotate_s": screen.rotate_s})
        if key:
            print(f"screen {screen.name}: {','.join(screen.boards)} at {screen.scope}"
                  + (f", rotating every {screen.rotate_s} s" if screen.rotate_s else ""))
            print("open this link once on the wall PC (it is shown only now; revoke the screen if it leaks):")
            print(screen_url(s, key))
        else:
            print(f"screen {screen.name} revoked: it shows the login page within a heartbeat")
        return 0
    finally:
        accounts.close()
        r.close()


ENDS_SESSIONS = ("disable", "reset", "set", "reset-2fa")  # what a session carries no longer holds


def _web_side(s: Settings, name: str, verb: str) -> int:
    """What a change means in the web's Redis: the account's open sessions end (their push streams close
    within a heartbeat), an unlock clears its login throttle. Returns the sessions ended."""
    if verb not in (*ENDS_SESSIONS, "unlock"):
        return 0
    import redis

    from dashboard.accounts.sessions import end_sessions
    from dashboard.contract.keys import Keys

    r, keys = redis.Redis.from_url(s.redis_url, socket_timeout=5), Keys.from_settings(s)
    try:
        if verb == "unlock":
            r.delete(keys.login_throttle("account", name))
            return 0
        return end_sessions(r, keys, name)
    except redis.RedisError as exc:
        print(f"could not reach the web's Redis ({exc}): open sessions end at their idle timeout", file=sys.stderr)
        return 0
    finally:
        r.close()


def _list_users(store: AccountStore, as_json: bool) -> int:
    from dashboard.accounts.roles import ROLE_ZH

    now = datetime.now(UTC)
    rows = [{"name": x.name, "role": x.role.value, "role_zh": ROLE_ZH[x.role], "scope": x.scope, "disabled": x.disabled,
             "locked_until": x.locked_until.isoformat() if x.locked(now) and x.locked_until else None,
             "must_change": x.must_change, "failed_logins": x.failed_logins, "second_factor": x.second_factor}
            for x in store.list()]
    if as_json:
        return _print_json({"accounts": rows})
    for row in rows:
        flags = [f for f, on in (("disabled", row["disabled"]), ("locked", row["locked_until"]),
                                 ("2fa", row["second_factor"]),
                                 ("must change password", row["must_change"])) if on]
        print(f"{row['name']:<20} {row['role']:<9} {row['role_zh']:<6} {row['scope']:<7} {', '.join(flags)}")
    return 0


def _change_user(store: AccountStore, a: argparse.Namespace) -> Account:
    from dashboard.accounts.account_store import AccountError

    if a.users_cmd in ("add", "reset"):
        if not a.password_stdin:
            raise AccountError("give the password on standard input with --password-stdin")
        password = sys.stdin.readline().rstrip("\r\n")
        if a.users_cmd == "add":
            return store.add(a.name, a.role, password, scope=a.scope, permanent=a.permanent)
        return store.reset(a.name, password, permanent=a.permanent)
    if a.users_cmd == "unlock":
        return store.unlock(a.name)
    if a.users_cmd == "reset-2fa":
        from dashboard.accounts.second_factor import SecondFactor

        SecondFactor(store.engine).reset(a.name)
        return store.get(a.name)
    if a.users_cmd == "set":
        return store.change(a.name, role=a.role, scope=a.scope)
    return store.set_disabled(a.name, a.users_cmd == "disable")


def cmd_audit(a: argparse.Namespace, s: Settings) -> int:
    import getpass
    import socket

    from dashboard.accounts.audit_log import AuditLog, beijing_day

    audit = AuditLog.from_settings(s)
    try:
        if a.audit_cmd == "verify":
            problem = audit.verify()
            if problem is not None:
                print(f"audit log BROKEN at row {problem.row}: {problem.reason}", file=sys.stderr)
                return 1
            n = sum(1 for _ in audit.rows())
            print(f"audit log intact: {n:,} rows, every link and hash and the head agree")
            return 0
        if a.audit_cmd == "prune":
            keep = a.keep_days or s.audit_retention_days
            try:
                n = audit.prune(keep, f"cli:{getpass.getuser()}", f"cli@{socket.gethostname()}"[:64])
            except ValueError as exc:
                print(f"pingan audit prune: {exc}", file=sys.stderr)
                return 2
            print(f"pruned {n:,} audit rows older than {keep} days; the chain now starts after them")
            return 0
        start = beijing_day(a.start) if a.start else None
        end = beijing_day(a.end) + timedelta(days=1) if a.end else None
        if a.out:
            with open(a.out, "w", encoding="utf-8", newline="") as out:
                n = audit.export_csv(out, start, end)
        else:
            n = audit.export_csv(sys.stdout, start, end)
        print(f"exported {n:,} audit rows", file=sys.stderr)
        return 0
    finally:
        audit.engine.dispose()


def cmd_web(a: argparse.Namespace, s: Settings) -> int:
    from dashboard.web import serve

    if bool(a.certfile) != bool(a.keyfile) or bool(s.web_certfile) != bool(s.web_keyfile):
        print("pingan web: give both a certificate and its key (--certfile and --keyfile)", file=sys.stderr)
        return 2
    if a.certfile:
        s = s.model_copy(update={"web_certfile": Path(a.certfile), "web_keyfile": Path(a.keyfile)})
    serve.run(s, host=a.host, port=a.port, workers=a.workers)
    return 0


def cmd_schema(a: argparse.Namespace, s: Settings) -> int:
    from dashboard.boards import REGISTRY
    from dashboard.history import query
    from dashboard.live import ondemand

    schemas = {**REGISTRY.schemas(), **ondemand.schemas(), **query.schemas()}
    if a.snapshot:
        if a.snapshot not in schemas:
            print(f"pingan schema: no snapshot {a.snapshot!r}; registered: {', '.join(schemas)}", file=sys.stderr)
            return 2
        schemas = schemas[a.snapshot]
    print(orjson.dumps(schemas, option=orjson.OPT_INDENT_2).decode())
    return 0


def _print_json(rep: dict[str, object]) -> int:
    """A benchmark's whole report, for `--json`."""
    print(orjson.dumps(rep, option=orjson.OPT_INDENT_2).decode())
    return 0


def cmd_bench_live(a: argparse.Namespace, s: Settings) -> int:
    from dashboard.bench import snapshots as bench

    rep = bench.run(s, sizes=a.sizes, naive_events=a.naive_events, samples=a.samples)
    if a.json:
        return _print_json(rep)
    print(f"live: snapshot p95 ms by retained events {rep['snapshot_p95_ms']}; naive at "
          f"{a.naive_events:,}: {rep['naive_ms_200k']} ms; speedup {rep['speedup']}x; "
          f"{rep['redis_bytes_per_event']} Redis bytes/event; SLA clocks {rep['sla_clocks_us']['warm']} µs/case "
          f"(cold calendar {rep['sla_clocks_us']['cold_baseline']} µs); {'PASS' if rep['pass'] else 'FAIL'}")
    return 0


def cmd_bench_analyst(a: argparse.Namespace, s: Settings) -> int:
    import os

    from dashboard.bench import analyst as bench

    rep = bench.run(s, facts_n=a.facts, pg_url=a.pg_url or os.environ.get("PINGAN_BENCH_PG_URL"), queries=a.queries)
    if a.json:
        return _print_json(rep)
    for name, b in rep["backends"].items():
        if "skipped" in b:
            print(f"analyst {name}: skipped ({b['skipped']})")
            continue
        print(f"analyst {name}: {b['facts']:,} facts; filter + series p95 {b['filter_series']['p95_ms']} ms "
              f"(target {rep['target_p95_ms']:g}); KPIs by district p95 {b['kpis_by_district']['p95_ms']} ms; "
              f"counts p95 {b['counts_by_category']['p95_ms']} ms; "
              f"first page p95 {b['cases_first_page']['p95_ms']} ms; "
              f"full count {b['baseline_full_count']['p50_ms']} ms; CSV export of {b['export_csv']['rows']:,} "
              f"cases {b['export_csv']['seconds']} s, peak RSS {b['export_csv']['peak_rss_mb']} MB (one day: "
              f"{b['export_csv_one_day']['peak_rss_mb']} MB)")
    print("PASS" if rep["pass"] else "FAIL")
    return 0


def cmd_bench_web(a: argparse.Namespace, s: Settings) -> int:
    from dashboard.bench import walls as bench

    rep = bench.run(s, walls=a.walls, duration_s=a.duration, updates=a.updates, events=a.events,
                    baseline_s=a.baseline, threads=a.threads)
    if a.json:
        return _print_json(rep)
    w = rep["walls"]
    print(f"web: update p95 {rep['update_p95_ms']} ms (publish p95 {rep['publish_p95_ms']} ms, snapshot "
          f"{rep['snapshot_bytes']:,} B, {rep['markers']:,} markers); {w['walls']} screens at 1 Hz "
          f"({rep['server']['worker_class']}): p95 {rep['p95_ms_500_screens']} ms, max {w['max_ms']} ms, "
          f"received {w['received']}/{w['expected']} "
          f"(1 wall: p95 {rep['p95_ms_1_wall']} ms); a tablet's update "
          f"{', '.join(f'{lv} {n:,} B' for lv, n in rep['tablet_update_bytes'].items())}; "
          f"{'PASS' if rep['pass'] else 'FAIL'}")
    return 0


def cmd_bench_browser(a: argparse.Namespace, s: Settings) -> int:
    from dashboard.bench import browser as bench

    rep = bench.run(s, injects=a.injects, duration_s=a.duration, every_s=a.every, warmup_s=a.warmup,
                    speed=a.speed, chromium=a.chromium)
    if a.json:
        return _print_json(rep)
    inj, heap = rep["inject"], rep["heap"]
    print(f"browser: inject → wall median {inj['to_wall_s']['median']} s (snapshot in Redis "
          f"{inj['to_snapshot_s']['median']} s, push and render {inj['push_and_render_s']['median']} s); "
          f"JS heap {heap['start_mb']} MB, +{heap['growth_mb']} MB in {heap['window_s']} s; "
          f"{'PASS' if rep['meets_target'] else 'FAIL'}")
    return 0


def cmd_backfill(a: argparse.Namespace, s: Settings) -> int:
    from datetime import datetime

    from dashboard.contract.event import BEIJING
    from dashboard.history.backfill import LoadStatus, archive_bytes, backfill
    from dashboard.live.archive import Archive

    end = datetime.fromisoformat(a.end) if a.end else None
    if end is not None and end.tzinfo is None:
        end = end.replace(tzinfo=BEIJING)
    status = LoadStatus(s, a.days)
    status.set("loading")
    with Archive.from_settings(s) as arch:
        try:
            rep = backfill(s, a.days, end=end, seed=a.seed, archive=arch, progress=status.progress)
        except BaseException:
            status.set("failed")
            raise
        status.set("done", rep)
        out = rep.as_json(archive_bytes(arch))
    if a.json:
        return _print_json(out)
    print(f"backfill: {out['days']} days ({out['start']} – {out['end']}): {out['events']:,} events "
          f"({out['inserted']:,} new) in {out['seconds']} s, {out['events_per_s']:,}/s; archive "
          f"{out['archive_bytes'] / 1e6:,.1f} MB, {out['bytes_per_day'] / 1e6:,.1f} MB per day; "
          f"rejected {out['rejected']}")
    return 0 if out["rejected"] == 0 else 1


def cmd_archive_rebuild(a: argparse.Namespace, s: Settings) -> int:
    import time

    from dashboard.live.archive import Archive

    began = time.monotonic()
    with Archive.from_settings(s) as arch:
        counted = arch.rebuild_facts()
    rep: dict[str, object] = {**counted, "seconds": round(time.monotonic() - began, 1)}
    if a.json:
        return _print_json(rep)
    print(f"archive: facts of {rep['cases']:,} cases rebuilt from their events in {rep['seconds']} s")
    return 0


def cmd_export_cases(a: argparse.Namespace, s: Settings) -> int:
    """The archive's cases of a window as CSV or XLSX, the whole city or one district, audited."""
    import getpass
    import socket
    import time

    from pydantic import ValidationError

    from dashboard.accounts.audit_log import AuditLog
    from dashboard.contract.board import resolve
    from dashboard.history import export
    from dashboard.history import query as hq
    from dashboard.live.archive import database_url, ensure_tables, make_engine

    scope = resolve(a.district, s.city_adcode)
    if scope is None:
        print(f"export: --district {a.district} is not one of the city's districts", file=sys.stderr)
        return 2
    try:
        first, last = export.window(a.date_from, a.date_to)
        f = hq.Filter(start=first, end=last, category=a.category, source=a.source)
    except (ValueError, ValidationError) as exc:
        print(f"export: {hq.reason(exc)}", file=sys.stderr)
        return 2
    engine = make_engine(database_url(s))
    ensure_tables(engine)
    subject, client = f"cli:{getpass.getuser()}", f"cli@{socket.gethostname()}"[:64]
    given = {"from": a.date_from, "to": a.date_to, "district": a.district or "", "category": ",".join(a.category),
             "source": ",".join(a.source)}
    note = export.mark(subject, time.time(), scope.code, f, given, a.lang)
    lines = export.rows(engine, scope.level, scope.code, f)
    out = Path(a.out)
    if a.format == "xlsx":
        n = export.write_xlsx(out, note, lines, subject, a.lang)
    else:
        written = [0]
        with out.open("wb") as fh:
            for chunk in export.csv_chunks(note, lines, written, a.lang):
                fh.write(chunk)
        n = written[0]
    audit = AuditLog.from_settings(s)
    try:
        audit.append(subject, "export.cases", a.format, scope.code, "ok", client, {"filters": given, "rows": n})
    finally:
        audit.engine.dispose()
        engine.dispose()
    print(f"export: {n:,} cases to {out}")
    return 0


def cmd_bench(a: argparse.Namespace, s: Settings) -> int:
    from dashboard.bench import throughput as bench

    rep = bench.run(s, events=a.events, repeats=a.repeats)
    if a.json:
        return _print_json(rep)
    floor = f"floor {rep['floor_events_per_s']:,}/s {'met' if rep['meets_floor'] else 'NOT met'}"
    print(f"ingest: {rep['events_per_s']:,} events/s end to end; raw XADD {rep['raw_xadd_per_s']:,}/s; "
          f"ratio {rep['ratio']}; {floor}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from dashboard.accounts.roles import ACCOUNT_ROLES
    from feeds.adapters import PARSE_ADAPTERS

    p = argparse.ArgumentParser(prog="pingan", description="Ping'an command centre (平安指挥中心)")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)

    d = sub.add_parser("demo", help="Redis + simulator + ingest (+ web) on this machine")
    d.add_argument("--port", type=int, default=8050, help="web app port")
    d.add_argument("--sim-port", type=int, default=8060)
    d.add_argument("--redis-port", type=int, default=6380, help="embedded Redis port (0: any free port)")
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--speed", type=float,
                   help="simulated seconds per real second; every process of the demo shares this clock "
                        "(default 60, with --scenario 600)")
    d.add_argument("--backfill-h", type=float, default=2.0, help="hours of history simulated before start")
    d.add_argument("--history-days", type=float, default=30.0,
                   help="days of history written into the archive in the background (0: none)")
    d.add_argument("--workers", type=int, default=1, help="ingest processes")
    d.add_argument("--data-dir")
    _add_scenario_flags(d)
    d.set_defaults(fn=cmd_demo)

    sm = sub.add_parser("simulate", help="stand-in for all 21 upstream systems")
    sm.add_argument("--host", default="127.0.0.1")
    sm.add_argument("--port", type=int, default=8060)
    sm.add_argument("--seed", type=int, default=1)
    sm.add_argument("--speed", type=float, default=1.0)
    sm.add_argument("--city", help="city adcode (default: settings city_adcode)")
    sm.add_argument("--volume", action="append", default=[], metavar="CODE=PER_DAY")
    sm.add_argument("--backfill-h", type=float, default=2.0)
    sm.add_argument("--data-dir")
    _add_scenario_flags(sm)
    sm.set_defaults(fn=cmd_simulate)

    i = sub.add_parser("ingest", help="poll the feeds into Redis Streams (APScheduler)")
    i.add_argument("--feed", action="append", help="only these feed codes")
    i.add_argument("--once", action="store_true", help="one pass over the feeds, then exit")
    i.set_defaults(fn=cmd_ingest)

    st = sub.add_parser("status", help="health of every feed")
    st.add_argument("--json", action="store_true")
    st.set_defaults(fn=cmd_status)

    f = sub.add_parser("feeds", help="feed tools for integrators")
    fs = f.add_subparsers(dest="feeds_cmd", required=True)
    fp = fs.add_parser("parse", help="print a file's normalised events (stdout) and rejects (stderr)")
    fp.add_argument("adapter", choices=PARSE_ADAPTERS)
    fp.add_argument("file")
    fp.add_argument("--feed", help="take options (mapping, datum, categories) from this registry feed")
    fp.add_argument("--source", default="file", help="source code written into the events")
    fp.add_argument("--datum", default="wgs84", choices=["wgs84", "gcj02", "bd09", "cgcs2000"])
    fp.add_argument("--storm", help="typhoon adapters: only this storm (e.g. 1822, 201822, Mangkhut)")
    fp.set_defaults(fn=cmd_feeds_parse)
    fl = fs.add_parser("list", help="the registry of connected systems")
    fl.set_defaults(fn=cmd_feeds_list)

    lv = sub.add_parser("live", help="fold the streams into live state, archive them, publish snapshots")
    lv.add_argument("--once", action="store_true", help="apply what is there, publish snapshots, exit")
    lv.add_argument("--no-archive", action="store_true", help="do not run the SQL archive consumer")
    lv.add_argument("--no-snapshots", action="store_true", help="do not build board snapshots")
    lv.set_defaults(fn=cmd_live)

    w = sub.add_parser("web", help="the boards (gunicorn, threaded workers): /wall, /healthz, /metrics")
    w.add_argument("--host", help="listen address (default: settings web_host)")
    w.add_argument("--port", type=int, help="port (default: settings web_port, 8050)")
    w.add_argument("--workers", type=int, help="worker processes (default: settings web_workers)")
    w.add_argument("--certfile", help="PEM certificate: serve HTTPS (default: settings web_certfile)")
    w.add_argument("--keyfile", help="its PEM private key (default: settings web_keyfile)")
    w.set_defaults(fn=cmd_web)

    us = sub.add_parser("users", help="accounts: add, list, set, disable, enable, reset, unlock, reset-2fa")
    uss = us.add_subparsers(dest="users_cmd", required=True)
    ua = uss.add_parser("add", help="a new account (its password changed at first login unless --permanent)")
    ua.add_argument("name")
    ua.add_argument("--role", required=True, choices=[r.value for r in ACCOUNT_ROLES])
    ua.add_argument("--scope", help="the city's adcode (default) or one of its districts'")
    ua.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    ua.add_argument("--permanent", action="store_true", help="the owner chose it: no forced change")
    ul = uss.add_parser("list", help="every account")
    ul.add_argument("--json", action="store_true")
    for verb, text in (("disable", "refuse the account's logins"), ("enable", "allow them again"),
                       ("unlock", "free a locked account and forget its failed logins"),
                       ("reset-2fa", "forget its authenticator and recovery codes: it enrols again at next login")):
        uss.add_parser(verb, help=text).add_argument("name")
    uc = uss.add_parser("set", help="a new role or scope (ends the account's open sessions)")
    uc.add_argument("name")
    uc.add_argument("--role", choices=[r.value for r in ACCOUNT_ROLES])
    uc.add_argument("--scope", help="the city's adcode or one of its districts'")
    ur = uss.add_parser("reset", help="a new password (changed at next login unless --permanent)")
    ur.add_argument("name")
    ur.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    ur.add_argument("--permanent", action="store_true", help="the owner chose it: no forced change")
    us.set_defaults(fn=cmd_users)

    sr = sub.add_parser("screens", help="wall screens: a revocable credential each, no login, no idle timeout")
    srs = sr.add_subparsers(dest="screens_cmd", required=True)
    sa_ = srs.add_parser("add", help="a new screen; prints the link to open once on its PC")
    sa_.add_argument("name")
    sa_.add_argument("--boards", required=True, help="the boards it shows, comma-separated (wall,emergency)")
    sa_.add_argument("--scope", help="the city's adcode (default) or one of its districts'")
    sa_.add_argument("--rotate", type=int, default=0, metavar="S", help="rotate through them every S seconds")
    sl = srs.add_parser("list", help="every screen, revoked ones too")
    sl.add_argument("--json", action="store_true")
    srs.add_parser("revoke", help="stop a screen: its wall shows the login page within a heartbeat") \
        .add_argument("name")
    sr.set_defaults(fn=cmd_screens)

    au = sub.add_parser("audit", help="the tamper-evident audit log: verify, export, prune")
    aus = au.add_subparsers(dest="audit_cmd", required=True)
    aus.add_parser("verify", help="check every row's link and hash and the head; names the first bad row")
    ae = aus.add_parser("export", help="CSV of the rows between two Beijing dates (inclusive)")
    ae.add_argument("--from", dest="start", help="first day, YYYY-MM-DD")
    ae.add_argument("--to", dest="end", help="last day, YYYY-MM-DD")
    ae.add_argument("--out", help="file to write (default: standard output)")
    ap = aus.add_parser("prune", help="delete rows older than the retention (at least 180 days); audited")
    ap.add_argument("--keep-days", type=int, help="default: settings audit_retention_days (365)")
    au.set_defaults(fn=cmd_audit)

    rb = sub.add_parser("rebuild", help="recompute the live state from the streams; report differences")
    rb.add_argument("--apply", action="store_true", help="replace the live state with the recomputed one")
    rb.add_argument("--json", action="store_true")
    rb.add_argument("--scope", action="append", default=[], metavar="CODE",
                    help="print this scope's figures (the city, a district, town, village or grid; repeatable), "
                         "rebuilt and live; exit 1 when they differ")
    rb.set_defaults(fn=cmd_rebuild)

    bf = sub.add_parser("backfill", help="days of simulated history straight into the archive (not through Redis)")
    bf.add_argument("--days", type=float, default=30.0)
    bf.add_argument("--end", help="a Beijing date or time; the history ends at its midnight (default: today's)")
    bf.add_argument("--seed", type=int, default=1)
    bf.add_argument("--json", action="store_true")
    bf.set_defaults(fn=cmd_backfill)

    ex = sub.add_parser("export", help="the archive's cases as CSV or XLSX (audited)")
    exs = ex.add_subparsers(dest="export_cmd", required=True)
    exc = exs.add_parser("cases", help="the cases received in a window, the city or one district")
    exc.add_argument("--from", dest="date_from", required=True, help="first Beijing date (2026-12-01)")
    exc.add_argument("--to", dest="date_to", required=True, help="last Beijing date, included")
    exc.add_argument("--district", help="an adcode (default: the whole city)")
    exc.add_argument("--category", action="append", default=[], help="repeatable")
    exc.add_argument("--source", action="append", default=[], help="a feed code; repeatable")
    exc.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    exc.add_argument("--lang", choices=("zh", "en"), default="zh")
    exc.add_argument("--out", required=True)
    exc.set_defaults(fn=cmd_export_cases)

    ar = sub.add_parser("archive", help="the SQL archive: its case facts")
    ars = ar.add_subparsers(dest="archive_cmd", required=True)
    arb = ars.add_parser("rebuild", help="every case's facts again from the archived events")
    arb.add_argument("--json", action="store_true")
    arb.set_defaults(fn=cmd_archive_rebuild)

    sc = sub.add_parser("schema", help="the JSON Schema of every snapshot the boards read, and of the places "
                                       "and history APIs")
    sc.add_argument("snapshot", nargs="?",
                    help="only this one (wall, wall-map, emergency, place, case-list, case-life, history-counts, "
                         "history-kpis, history-series, history-cases)")
    sc.set_defaults(fn=cmd_schema)

    b = sub.add_parser("bench", help="benchmarks (JSON output with --json)")
    bs = b.add_subparsers(dest="bench_cmd", required=True)
    bi = bs.add_parser("ingest", help="events/s end to end vs raw pipelined XADD")
    bi.add_argument("--json", action="store_true")
    bi.add_argument("--events", type=int, default=100_000)
    bi.add_argument("--repeats", type=int, default=3)
    bi.set_defaults(fn=cmd_bench)
    bl = bs.add_parser("live", help="snapshot refresh time by retained events vs the naive re-read")
    bl.add_argument("--json", action="store_true")
    bl.add_argument("--sizes", type=lambda v: [int(x) for x in v.split(",")], default=[10_000, 100_000, 1_000_000],
                    help="retained-event counts, comma-separated")
    bl.add_argument("--naive-events", type=int, default=200_000)
    bl.add_argument("--samples", type=int, default=50, help="snapshot builds timed per size")
    bl.set_defaults(fn=cmd_bench_live)
    ba = bs.add_parser("analyst", help="the archive's case facts: filter + series, KPIs, counts, pages (SQLite, PG)")
    ba.add_argument("--facts", type=int, default=1_000_000, help="case facts written once, then reused")
    ba.add_argument("--pg-url", help="PostgreSQL to run on too (default $PINGAN_BENCH_PG_URL; none: SQLite only)")
    ba.add_argument("--queries", type=int, default=40, help="timed queries of each kind")
    ba.add_argument("--json", action="store_true")
    ba.set_defaults(fn=cmd_bench_analyst)

    bw = bs.add_parser("web", help="push: server time per wall update, latency with 500 screens at 1 Hz")
    bw.add_argument("--json", action="store_true")
    bw.add_argument("--walls", type=int, default=500, help="concurrent SSE clients (screens)")
    bw.add_argument("--duration", type=float, default=25.0, help="seconds of 1 Hz updates with every wall open")
    bw.add_argument("--baseline", type=float, default=10.0, help="seconds of 1 Hz updates with one wall open")
    bw.add_argument("--updates", type=int, default=200, help="wall updates timed in process")
    bw.add_argument("--events", type=int, default=65_000, help="synthetic events in the live state (a day)")
    bw.add_argument("--threads", type=int, help="threads per gthread web worker (default: settings web_threads)")
    bw.set_defaults(fn=cmd_bench_web)
    bb = bs.add_parser("browser", help="the wall in Chromium: inject → screen delay, JS heap over time")
    bb.add_argument("--json", action="store_true")
    bb.add_argument("--injects", type=int, default=5, help="110 records injected, one at a time")
    bb.add_argument("--duration", type=float, default=48.0, help="seconds of heap samples")
    bb.add_argument("--every", type=float, default=8.0, help="seconds between heap samples")
    bb.add_argument("--warmup", type=float, default=10.0, help="seconds before the first heap sample")
    bb.add_argument("--speed", type=float, default=60.0, help="the demo's simulated seconds per real second")
    bb.add_argument("--chromium", default="/usr/bin/chromium")
    bb.set_defaults(fn=cmd_bench_browser)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if not args.verbose:  # one access-log line per poll drowns the demo's console
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return int(args.fn(args, Settings()) or 0)


if __name__ == "__main__":
    sys.exit(main())
