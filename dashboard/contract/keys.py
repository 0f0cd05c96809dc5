"""Every Redis key this system uses, in one place, each family in the partition it belongs to.

A key's partition is its Redis Cluster hash tag, the part in braces, and every family says which:

- ``city``: ``{440700}``: everything of one city that moves together: the streams of its 21
  connected systems with their dedup index, cursor, health and lease; its dead letters; and its
  live state (cases, counters, SLA clocks, map markers, the emergency picture). One live worker's
  transaction and one blocking read over all 21 streams then stay in one slot, and a feed's cursor
  sits in the slot of the stream it writes. A province is one partition per city.
- ``district``: ``{440781}``: what is kept per scope: a board's snapshots and their logs (the
  city's own scope uses the city's tag), so the push streams of many walls spread over the shards.
- ``global``: ``{g}``: what belongs to the installation, not to a place: the audit log, the open
  screens.

``tests/test_keys.py`` fails on a family that says nothing, or whose key's tag is not its
partition's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

if TYPE_CHECKING:
    from dashboard.contract.settings import Settings

Partition = Literal["city", "district", "global"]
GLOBAL_TAG = "g"

F = TypeVar("F", bound=Callable[..., str])


def family(partition: Partition) -> Callable[[F], F]:
    """Declare a key family's partition (read by tests/test_keys.py)."""

    def mark(fn: F) -> F:
        fn.partition = partition  # type: ignore[attr-defined]
        return fn

    return mark


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str = "pingan"
    city: str = "440700"  # the city's adcode: its partition's tag

    @classmethod
    def from_settings(cls, settings: Settings) -> Keys:
        return cls(settings.key_prefix, settings.city_adcode)

    @property
    def _city(self) -> str:
        return f"{self.prefix}:{{{self.city}}}"

    # --- ingest (`pingan ingest`): per connected system, in the city's partition ---

    @family("city")
    def stream(self, feed: str) -> str:
        """Stream of normalised events from one connected system."""
        return f"{self._city}:feed:{feed}:events"

    @family("city")
    def seen(self, feed: str) -> str:
        """Sorted set event_id -> first-seen ms, the dedup index (trimmed by age)."""
        return f"{self._city}:feed:{feed}:seen"

    @family("city")
    def cursor(self, feed: str) -> str:
        """Hash: the feed's poll cursor (watermark, etc.)."""
        return f"{self._city}:feed:{feed}:cursor"

    @family("city")
    def health(self, feed: str) -> str:
        """Hash with a TTL: last ok, last error, failures, lag, counters."""
        return f"{self._city}:feed:{feed}:health"

    @family("city")
    def counters(self, feed: str) -> str:
        """Hash without TTL: lifetime counts of events written, duplicates and rejects."""
        return f"{self._city}:feed:{feed}:counters"

    @family("city")
    def lease(self, job: str) -> str:
        """String with a TTL: the token of the process that does one job (polls a feed, or publishes
        the snapshots: ``live-snapshot``)."""
        return f"{self._city}:lease:{job}"

    @family("city")
    def files(self, feed: str) -> str:
        """Sorted set of content digests of drop-folder files already ingested."""
        return f"{self._city}:feed:{feed}:files"

    @property
    @family("city")
    def dead(self) -> str:
        """Dead-letter stream: every rejected record with its feed, reason and a masked raw copy."""
        return f"{self._city}:dead"

    @property
    @family("city")
    def workers(self) -> str:
        """Hash: ingest worker id -> last heartbeat (ms)."""
        return f"{self._city}:ingest:workers"

    # --- live state (`pingan live`): the city's tag, so a worker's transaction is one Cluster slot ---

    @property
    @family("city")
    def live(self) -> str:
        """Common stem of every live-state key."""
        return f"{self._city}:live"

    @family("city")
    def case(self, case_id: str) -> str:
        """String (JSON): one case's folded state — its history of steps and current fields."""
        return f"{self.live}:case:{case_id}"

    @family("city")
    def agg(self, gran: str, bucket: str, dim: str, value: str | None = None) -> str:
        """Hash ``{value}|{metric}`` -> count for one hour (gran "h") or Beijing day ("d"); expires.
        With ``value`` (a town, village or grid): that place's own hash, ``{metric}`` -> count."""
        key = f"{self.live}:agg:{gran}:{bucket}:{dim}"
        return key if value is None else f"{key}:{value}"

    @family("city")
    def now(self, dim: str) -> str:
        """Hash ``{value}|{metric}`` -> count of the current state (open cases, escalated, …)."""
        return f"{self.live}:now:{dim}"

    @family("city")
    def due(self, stage: str, dim: str, value: str) -> str:
        """Sorted set case_id -> deadline (epoch s) of the open SLA clocks of one stage."""
        return f"{self.live}:due:{stage}:{dim}:{value}"

    @family("city")
    def warn(self, stage: str, dim: str, value: str) -> str:
        """Sorted set case_id -> when the clock turns yellow (epoch s), same members as ``due``."""
        return f"{self.live}:warn:{stage}:{dim}:{value}"

    @family("city")
    def open_cases(self, dim: str, value: str) -> str:
        """Sorted set case_id -> reported time (epoch s) of one place's open cases (its case list)."""
        return f"{self.live}:list:{dim}:{value}"

    @property
    @family("city")
    def places(self) -> str:
        """Hash village or grid code -> ``LEVEL|PARENT``: its level and the place it lies in, as the cases name them."""
        return f"{self.live}:places"

    @family("city")
    def place_kids(self, parent: str) -> str:
        """Set of the villages of a town, or the grids of a village, the cases have named."""
        return f"{self.live}:kids:{parent}"

    @family("city")
    def scope_cache(self, name: str, code: str) -> str:
        """String (JSON): a snapshot built on demand for a scope below the district; expires in seconds."""
        return f"{self.live}:ondemand:{name}:{code}"

    @property
    @family("city")
    def markers(self) -> str:
        """Hash case_id -> map marker JSON of every open case (masked summary, position, deadlines)."""
        return f"{self.live}:markers"

    @family("city")
    def cell(self, i: int, j: int) -> str:
        """Sorted set case_id -> reported time of the cases reported in one ~1 km map cell: the
        candidates for linking one incident reported through several systems (expires)."""
        return f"{self.live}:cell:{i}:{j}"

    @property
    @family("city")
    def ticker(self) -> str:
        """Sorted set of the newest high-priority events (JSON) by time, capped."""
        return f"{self.live}:ticker"

    @property
    @family("city")
    def version(self) -> str:
        """Counter bumped by every transaction that changed the state (snapshots rebuild when it moves)."""
        return f"{self.live}:version"

    @property
    @family("city")
    def newest(self) -> str:
        """Sorted set: newest event time (epoch ms, the score) applied per source — the boards' "data as of"."""
        return f"{self.live}:newest"

    @property
    @family("city")
    def history_load(self) -> str:
        """Hash: a history backfill under way or done (state, days, done_days, events) — the boards say so."""
        return f"{self.live}:history-load"

    # --- the emergency picture (dashboard/live/emergency_state.py): compact records of the non-case kinds;
    # each hash field holds "version\nJSON" and is replaced only by a newer version ---

    @family("city")
    def em(self, table: str) -> str:
        """Hash of one table of the emergency picture, newest version per id: ``storm`` (storm id ->
        its newest fix, forecast and landfalls), ``warning`` (CAP chain -> newest message),
        ``mobilise`` (district -> newest mobilisation report), ``checkin`` (grid -> newest check-in),
        ``closure``, ``task`` (report id -> newest version), ``gauge`` (station -> newest reading),
        ``vessel`` (MMSI -> newest position)."""
        return f"{self.live}:em:{table}"

    @family("city")
    def em_track(self, storm: str) -> str:
        """Hash fix time (epoch s) -> one compact fix of a storm's track."""
        return f"{self.live}:em:track:{storm}"

    @property
    @family("city")
    def em_levels(self) -> str:
        """Sorted set of emergency response level changes (compact JSON) by time: level and since when."""
        return f"{self.live}:em:levels"

    @property
    @family("city")
    def em_grids(self) -> str:
        """Hash grid id -> town code of every grid seen in any event: the grids a check-in rate counts."""
        return f"{self.live}:em:grids"

    @property
    @family("city")
    def em_acks(self) -> str:
        """Hash alert key -> JSON {who, at, comment, headline}: a duty officer's acknowledgement."""
        return f"{self.live}:em:acks"

    # --- accounts (`pingan web`, `pingan users`): the installation's, not a place's ---

    @family("global")
    def session(self, sid: str) -> str:
        """String: one login session (Flask-Session's msgpack), expiring at the session's absolute end."""
        return f"{self.prefix}:{{{GLOBAL_TAG}}}:session:{sid}"

    @family("global")
    def session_seen(self, sid: str) -> str:
        """String with a TTL: the session is in use; it expires after the idle timeout, and deleting it ends
        the session at once (logout, disable, a role change) — push streams check it every heartbeat."""
        return f"{self.prefix}:{{{GLOBAL_TAG}}}:session-seen:{sid}"

    @family("global")
    def user_sessions(self, name: str) -> str:
        """Set: the session ids of one account, so `pingan users disable` can end them all."""
        return f"{self.prefix}:{{{GLOBAL_TAG}}}:user-sessions:{name}"

    @family("global")
    def login_throttle(self, kind: str, who: str) -> str:
        """Counter with a TTL: failed logins of one account (``kind`` account) or address (``address``)
        in the current throttle window."""
        return f"{self.prefix}:{{{GLOBAL_TAG}}}:login-fail:{kind}:{who}"

    @family("global")
    def screen_credential(self, key_hash: str) -> str:
        """String JSON {name, boards, scope, rotate_s}: an active wall screen, by its key's SHA-256 (the
        accounts database's screens table is the truth; a revocation deletes this copy)."""
        return f"{self.prefix}:{{{GLOBAL_TAG}}}:screen-cred:{key_hash}"

    @family("district")
    def snapshot(self, board: str, scope: str) -> str:
        """String: the newest snapshot JSON of one board for one scope (an adcode)."""
        return f"{self.prefix}:{{{scope}}}:snap:{board}"

    @family("district")
    def snapshot_log(self, board: str, scope: str) -> str:
        """Stream of recent snapshots (capped): browsers resume from its ids (SSE Last-Event-ID)."""
        return f"{self.prefix}:{{{scope}}}:snaplog:{board}"

    @family("district")
    def snapshot_log_id(self, board: str, scope: str) -> str:
        """String: id of the log entry the board's stored snapshot equals (where a new browser resumes)."""
        return f"{self.prefix}:{{{scope}}}:snaplog-id:{board}"

    @property
    @family("global")
    def screens(self) -> str:
        """Hash: screen id -> JSON {board, scope, seen (ms)} of every wall with an open push stream."""
        return f"{self.prefix}:{{{GLOBAL_TAG}}}:web:screens"

    @property
    @family("city")
    def live_workers(self) -> str:
        """Hash: live worker id -> last heartbeat (ms)."""
        return f"{self.live}:workers"

    def all_patterns(self) -> str:
        """Pattern that matches every key of this installation (tests and `reset`)."""
        return f"{self.prefix}:*"
