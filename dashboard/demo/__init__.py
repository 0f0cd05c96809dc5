"""`pingan demo`: the whole system on one machine: ``supervisor`` starts Redis (yours or the
real one of ``embedded_redis``), the simulator, ingest, live and web workers and keeps them up."""
