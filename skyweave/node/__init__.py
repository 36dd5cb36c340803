"""node room (see docs/DESIGN.md)."""
