"""web room (see docs/DESIGN.md)."""
