"""core: the model every room shares (see docs/DESIGN.md).

- :mod:`~skyweave.core.errors`: :class:`FormatError`, the error of a broken contract at a trust
  boundary (file, line, field, expected, got).
- :mod:`~skyweave.core.model`: nations (``NATION_RE``), ICAO addresses (``ICAO24_RE``),
  ``SENSOR_KINDS``, the scenario :class:`Origin`, :class:`SensorSpec` and :class:`SensorSet`
  (sensors.json), :func:`parse_epoch`.
- :mod:`~skyweave.core.stats`: chi-square quantiles for gates and confidence regions.

Every room may import this one; it imports only :mod:`skyweave.geo` and does no I/O.
"""

from skyweave.core.errors import FormatError, short_repr
from skyweave.core.model import (
    ICAO24_RE,
    NATION_RE,
    SENSOR_KINDS,
    Origin,
    SensorSet,
    SensorSpec,
    parse_epoch,
)
from skyweave.core.stats import CHI2_2_95, chi2_quantile

__all__ = [
    "FormatError", "short_repr", "NATION_RE", "ICAO24_RE", "SENSOR_KINDS", "Origin", "SensorSpec",
    "SensorSet", "parse_epoch", "CHI2_2_95", "chi2_quantile",
]
