"""track room (see docs/DESIGN.md)."""
