"""``python -m feeds.simulator --port 8060 --speed 60``: run the upstream simulator."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from feeds.simulator.scenario import DEFAULT_LEAD_H, KINDS, Scenario
from feeds.simulator.server import serve
from feeds.simulator.traffic import DEFAULT_VOLUMES


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m feeds.simulator", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8060)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    p.add_argument("--data-dir", type=Path, default=Path("var"))
    p.add_argument("--city", default="440700", help="6-digit city adcode (e.g. 445300 for Yunfu)")
    p.add_argument("--backfill-h", type=float, default=2.0, help="hours simulated before start")
    p.add_argument("--clock-origin", type=float,
                   help="epoch seconds: run on the shared clock (dashboard/contract/clock.py) that starts there"
                   " (default: PINGAN_CLOCK_ORIGIN, else simulated time starts now)")
    p.add_argument("--volume", action="append", default=[], metavar="FEED=N",
                   help=f"cases per day for a feed (defaults: {DEFAULT_VOLUMES})")
    p.add_argument("--fault", action="append", default=[], metavar="FEED=MODE")
    p.add_argument("--scenario", choices=KINDS, help="a world built around one event (see feeds/simulator/scenario.py)")
    p.add_argument("--track", type=Path, help="typhoon: replay this track (CHyyyyBST.txt or real-time JSON)")
    p.add_argument("--storm", help="typhoon: the storm of the track file (1822, 201822, Mangkhut …)")
    p.add_argument("--lead-h", type=float, default=DEFAULT_LEAD_H, help="typhoon: hours from start to closest approach")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    volumes = {k: float(v) for k, v in (x.split("=", 1) for x in args.volume)}
    faults = dict(x.split("=", 1) for x in args.fault)
    serve(args.host, args.port, seed=args.seed, speed=args.speed, data_dir=args.data_dir, city=args.city,
          volumes=volumes or None, backfill_h=args.backfill_h, faults=faults or None,
          clock_origin=args.clock_origin,
          scenario=Scenario(args.scenario, args.track, args.storm, args.lead_h) if args.scenario else None)


if __name__ == "__main__":
    main()
