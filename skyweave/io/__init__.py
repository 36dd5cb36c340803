"""io room (see docs/DESIGN.md)."""
