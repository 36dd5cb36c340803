"""share room (see docs/DESIGN.md)."""
