"""scenario room (see docs/DESIGN.md)."""
