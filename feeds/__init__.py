"""`pingan ingest`: upstream systems to Redis Streams.

``ingest`` schedules one ``poller`` per connected system (APScheduler, one process holding each
feed's lease); a poller fetches payloads through ``transports``, turns them into events and
rejects through ``pipeline`` (the format's module in ``adapters``, then masking and validation
into the event model of ``dashboard.contract``) and writes them with ``sink``.
``simulator`` stands in for the upstreams and is not part of this process.
"""
