"""The command centre's processes after ingest, and what they share.

- ``contract``: what every process shares: the event model, the Redis keys, the settings, the
  run's clock, the connected systems, masking, geography, leases, feed health, the board contract.
- ``live``: `pingan live`: folds the streams into case state, SLA clocks and KPIs, archives
  events to SQL and publishes each board's snapshots.
- ``web``: `pingan web`: the Dash app, push streams, health and metrics.
- ``boards``: the boards this installation serves (layouts in ``layouts/``, browser code in
  ``assets/``).
- ``demo`` and ``bench``: `pingan demo` and `pingan bench`: tooling around the product, never
  imported by it.
"""
