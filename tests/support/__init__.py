"""Helpers for tests and benchmarks, kept out of the shipped package.

- :mod:`tests.support.natsserver`: real ``nats-server`` processes (one server or a cluster).
- :mod:`tests.support.fusesim`: a small simulated coalition for fusion (SimNation, SimNetwork).

Tests import them as ``tests.support.<module>`` (pytest puts the repository root on
``sys.path``, see ``pythonpath`` in pyproject.toml); benchmarks insert the repository root on
``sys.path`` first.
"""
