"""Every Redis key this system uses, in one place.

Per-feed keys share a hash tag (``{code}``) so a feed's stream, dedup index, cursor and lease
live in one Redis Cluster slot and can be touched atomically by one script.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str = "pingan"

    def stream(self, feed: str) -> str:
        """Stream of normalised events from one connected system."""
        return f"{self.prefix}:{{{feed}}}:events"

    def seen(self, feed: str) -> str:
        """Sorted set event_id -> first-seen ms, the dedup index (trimmed by age)."""
        return f"{self.prefix}:{{{feed}}}:seen"

    def cursor(self, feed: str) -> str:
        """Hash: the feed's poll cursor (watermark, etc.)."""
        return f"{self.prefix}:{{{feed}}}:cursor"

    def health(self, feed: str) -> str:
        """Hash with a TTL: last ok, last error, failures, lag, counters."""
        return f"{self.prefix}:{{{feed}}}:health"

    def counters(self, feed: str) -> str:
        """Hash without TTL: lifetime counts of events written, duplicates and rejects."""
        return f"{self.prefix}:{{{feed}}}:counters"

    def lease(self, feed: str) -> str:
        """String with a TTL: the token of the ingest process that polls this feed."""
        return f"{self.prefix}:{{{feed}}}:lease"

    def files(self, feed: str) -> str:
        """Sorted set of content digests of drop-folder files already ingested."""
        return f"{self.prefix}:{{{feed}}}:files"

    @property
    def dead(self) -> str:
        """Dead-letter stream: every rejected record with its feed, reason and a masked raw copy."""
        return f"{self.prefix}:dead"

    @property
    def workers(self) -> str:
        """Hash: ingest worker id -> last heartbeat (ms)."""
        return f"{self.prefix}:ingest:workers"

    # --- live state (`pingan live`): one hash tag, so a worker's transaction is one Cluster slot ---

    @property
    def live(self) -> str:
        """Common stem of every live-state key (hash tag ``{live}``)."""
        return f"{self.prefix}:{{live}}"

    def case(self, case_id: str) -> str:
        """String (JSON): one case's folded state — its history of steps and current fields."""
        return f"{self.live}:case:{case_id}"

    def agg(self, gran: str, bucket: str, dim: str) -> str:
        """Hash ``{value}|{metric}`` -> count for one hour (gran "h") or Beijing day ("d"); expires."""
        return f"{self.live}:agg:{gran}:{bucket}:{dim}"

    def now(self, dim: str) -> str:
        """Hash ``{value}|{metric}`` -> count of the current state (open cases, escalated, …)."""
        return f"{self.live}:now:{dim}"

    def due(self, stage: str, dim: str, value: str) -> str:
        """Sorted set case_id -> deadline (epoch s) of the open SLA clocks of one stage."""
        return f"{self.live}:due:{stage}:{dim}:{value}"

    def warn(self, stage: str, dim: str, value: str) -> str:
        """Sorted set case_id -> when the clock turns yellow (epoch s), same members as ``due``."""
        return f"{self.live}:warn:{stage}:{dim}:{value}"

    @property
    def clock_keys(self) -> str:
        """Set of every ``due`` key ever written, so a snapshot counts lights without scanning."""
        return f"{self.live}:clockkeys"

    @property
    def markers(self) -> str:
        """Hash case_id -> map marker JSON of every open case (masked summary, position, deadlines)."""
        return f"{self.live}:markers"

    def cell(self, i: int, j: int) -> str:
        """Sorted set case_id -> reported time of the cases reported in one ~1 km map cell: the
        candidates for linking one incident reported through several systems (expires)."""
        return f"{self.live}:cell:{i}:{j}"

    @property
    def ticker(self) -> str:
        """Sorted set of the newest high-priority events (JSON) by time, capped."""
        return f"{self.live}:ticker"

    @property
    def version(self) -> str:
        """Counter bumped by every transaction that changed the state (snapshots rebuild when it moves)."""
        return f"{self.live}:version"

    @property
    def newest(self) -> str:
        """Hash: newest event time (epoch ms) applied per source — the boards' "data as of"."""
        return f"{self.live}:newest"

    # --- the emergency picture (dashboard/live/emergency_state.py): compact records of the non-case kinds;
    # each hash field holds "version\nJSON" and is replaced only by a newer version ---

    def em(self, table: str) -> str:
        """Hash of one table of the emergency picture, newest version per id: ``storm`` (storm id ->
        its newest fix, forecast and landfalls), ``warning`` (CAP chain -> newest message),
        ``mobilise`` (district -> newest mobilisation report), ``checkin`` (grid -> newest check-in),
        ``closure``, ``task`` (report id -> newest version), ``gauge`` (station -> newest reading),
        ``vessel`` (MMSI -> newest position)."""
        return f"{self.live}:em:{table}"

    def em_track(self, storm: str) -> str:
        """Hash fix time (epoch s) -> one compact fix of a storm's track."""
        return f"{self.live}:em:track:{storm}"

    @property
    def em_levels(self) -> str:
        """Sorted set of emergency response level changes (compact JSON) by time: level and since when."""
        return f"{self.live}:em:levels"

    @property
    def em_grids(self) -> str:
        """Hash grid id -> town code of every grid seen in any event: the grids a check-in rate counts."""
        return f"{self.live}:em:grids"

    @property
    def em_acks(self) -> str:
        """Hash alert key -> JSON {who, at, comment, headline}: a duty officer's acknowledgement."""
        return f"{self.live}:em:acks"

    @property
    def audit(self) -> str:
        """Stream of what people did on the boards (alert acknowledgements), capped, for the audit log."""
        return f"{self.prefix}:audit"

    def snapshot(self, board: str, scope: str) -> str:
        """String: the newest snapshot JSON of one board for one scope ("city" or a district adcode)."""
        return f"{self.live}:snap:{board}:{scope}"

    def snapshot_log(self, board: str, scope: str) -> str:
        """Stream of recent snapshots (capped): browsers resume from its ids (SSE Last-Event-ID)."""
        return f"{self.live}:snaplog:{board}:{scope}"

    def snapshot_log_id(self, board: str, scope: str) -> str:
        """String: id of the log entry the board's stored snapshot equals (where a new browser resumes)."""
        return f"{self.live}:snaplog-id:{board}:{scope}"

    @property
    def screens(self) -> str:
        """Hash: screen id -> JSON {board, scope, seen (ms)} of every wall with an open push stream."""
        return f"{self.prefix}:web:screens"

    @property
    def live_workers(self) -> str:
        """Hash: live worker id -> last heartbeat (ms)."""
        return f"{self.live}:workers"

    def all_patterns(self) -> str:
        """Pattern that matches every key of this installation (tests and `reset`)."""
        return f"{self.prefix}:*"
