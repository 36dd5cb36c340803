"""warn room (see docs/DESIGN.md)."""
