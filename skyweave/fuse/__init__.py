"""fuse room (see docs/DESIGN.md)."""
