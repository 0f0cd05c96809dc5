"""What the ingest, live and web processes share, and nothing else: the normalised event
(``event``), every Redis key (``keys``), the typed settings (``settings``), the run's clock
(``clock``), the connected systems (``systems`` with ``systems.toml``), masking of personal data
(``privacy``), geography and datums (``geo``), leases (``lease``), feed health (``feed_health``)
and what a board and its snapshots are (``board``)."""
