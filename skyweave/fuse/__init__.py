"""Fusion: one joint picture from a node's own tracks and its partners' (see docs/fusion.md).

- :mod:`~skyweave.fuse.trackset`: :class:`TrackSet`, tracks from many sources as arrays;
  markings as bit masks; identity codes.
- :mod:`~skyweave.fuse.align`: every track carried to the fusion time (CV).
- :mod:`~skyweave.fuse.association`: k-d tree pre-gate, chi-square gate, sequential global
  assignment across sources.
- :mod:`~skyweave.fuse.ci`: covariance intersection (exact, improved fast, fast), batched.
- :mod:`~skyweave.fuse.ntn`: network track number blocks, aliases, conflict resolution.
- :mod:`~skyweave.fuse.responsibility`: which node reports each track (after Link 16's R2).
- :mod:`~skyweave.fuse.fuser`: :class:`Fuser` (state between updates) and :class:`FusedPicture`.

Numerical only: no I/O, no transport (it does not import :mod:`skyweave.share`).
"""

from skyweave.fuse.align import predict_to
from skyweave.fuse.ci import ci_weights, covariance_intersection, naive_fusion
from skyweave.fuse.fuser import AudienceTracks, FusedPicture, Fuser, FuserConfig, FusionEvents
from skyweave.fuse.ntn import AliasTable, NtnBlock
from skyweave.fuse.trackset import TrackSet, decode_markings, encode_markings, identity_codes, identity_text

__all__ = [
    "TrackSet", "encode_markings", "decode_markings", "identity_codes", "identity_text", "predict_to",
    "covariance_intersection", "ci_weights", "naive_fusion", "Fuser", "FuserConfig", "FusedPicture", "FusionEvents",
    "AudienceTracks", "NtnBlock", "AliasTable",
]
