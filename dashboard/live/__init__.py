"""`pingan live`: the live-state worker. ``worker`` runs the consumer groups (``consumer``) that
fold events into case state (``state``, ``store``, ``sla``) and the emergency picture
(``emergency_state``), archive them (``archive``) and publish every board's snapshots
(``publish``, built by ``wall_board`` and ``emergency_board``). ``rebuild`` recomputes it all
from the streams and compares."""
