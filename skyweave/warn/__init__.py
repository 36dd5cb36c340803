"""warn room (see docs/DESIGN.md): ballistic missile warning, numerical and free of I/O.

- :mod:`~skyweave.warn.warner`: :class:`Warner`, the coordinator a node runs beside its tracker;
- :mod:`~skyweave.warn.config`: :class:`WarnConfig`, its parameters;
- :mod:`~skyweave.warn.cues`: infrared launch cues grouped into launch events;
- :mod:`~skyweave.warn.classify`: aircraft, cruise or ballistic, per air track;
- :mod:`~skyweave.warn.bank`: the ballistic estimators (spawn, update, merge, restart, retire);
- :mod:`~skyweave.warn.dynamics`: ballistic motion in ECEF, the estimators' model;
- :mod:`~skyweave.warn.impact`: impact (and launch) prediction with its 95 % ellipse;
- :mod:`~skyweave.warn.places`: populated places inside an impact ellipse;
- :mod:`~skyweave.warn.alerts`: :class:`AlertUpdate` records (alerts.jsonl) and their builder.
"""
