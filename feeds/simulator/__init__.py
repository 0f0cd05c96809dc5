"""`pingan simulate`: a stand-in for the 21 upstream systems, serving their real formats on one
machine. Not product code: the ingest, live and web processes never import it.

Data flow: ``model`` (traffic, lifecycles, weather, storms, gauges, vessels) emits *facts* into
``ledger``; ``formats`` renders facts into each upstream's format on request; ``server`` serves
them over HTTP (and ``writers`` into the exchange database and drop folders); ``engine`` ties
the pieces to a simulated clock (``simtime``). See ``server.serve`` for the entry point.
"""
