"""`pingan bench ingest` runs the worker's own path: Pipeline.run, then StreamSink.write."""

from feeds import bench
from feeds.pipeline import Pipeline
from feeds.sink import StreamSink


def test_bench_runs_the_worker_path_and_reports_both_rates(settings, monkeypatch):
    calls = {"run": 0, "write": 0}
    run, write = Pipeline.run, StreamSink.write

    def counted_run(self, *args, **kwargs):
        calls["run"] += 1
        return run(self, *args, **kwargs)

    def counted_write(self, *args, **kwargs):
        calls["write"] += 1
        return write(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "run", counted_run)
    monkeypatch.setattr(StreamSink, "write", counted_write)
    rep = bench.run(settings, events=1200, repeats=1)  # raises unless every event was written
    assert calls == {"run": 3, "write": 3}  # pages of 500, 500 and 200
    assert rep["events"] == 1200 and rep["events_per_s"] > 0 and rep["raw_xadd_per_s"] > 0
    assert rep["ratio"] == round(rep["events_per_s"] / rep["raw_xadd_per_s"], 3)
    assert rep["mean_event_bytes"] > 500
    assert isinstance(rep["pass"], bool)
