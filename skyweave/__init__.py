"""skyweave: one common air and missile picture for allied nations (situational awareness only).

The embeddable API (:mod:`skyweave.api`, docs/api.md) is reachable from here, imported on first
use so that ``import skyweave`` (and the ``skyweave`` command's start-up) stays instant::

    import skyweave
    node = skyweave.make_node(source.sensors, sinks=[print])
"""

__version__ = "0.1.0"


def _api():
    import importlib

    return importlib.import_module("skyweave.api")


def __getattr__(name: str):
    api = _api()
    if name in api.__all__:
        return getattr(api, name)
    raise AttributeError(f"module 'skyweave' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_api().__all__])
