"""cli room (see docs/DESIGN.md)."""
