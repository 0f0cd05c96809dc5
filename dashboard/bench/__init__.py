"""`pingan bench`: benchmarks, apart from product code (no process imports them).
``throughput`` is `bench ingest`, ``snapshots`` `bench live`, ``walls`` `bench web`; ``synth``
makes normalised case events in bulk from the simulator's world, for them and for tests."""
