"""skyweave: one common air and missile picture for allied nations (situational awareness only)."""

__version__ = "0.1.0"
