"""Other systems' formats in and out: skyweave's own Apache-2.0 decoders and writers (docs/interop.md).

In: ASTERIX CAT048/CAT021/CAT034 (raw blocks, libpcap captures, a UDP stream;
:mod:`~skyweave.interop.asterix`, :mod:`~skyweave.interop.pcap`), Mode S / ADS-B from AVR lines,
Beast binary and SBS-1 CSV (:mod:`~skyweave.interop.feeds`, :mod:`~skyweave.interop.modes`,
:mod:`~skyweave.interop.adsb`), all mapped to detections with honest covariances by
:mod:`~skyweave.interop.ingest`. Out: ASTERIX CAT062/CAT065 (:mod:`~skyweave.interop.cat062`),
Cursor-on-Target, GeoJSON and KML (:mod:`~skyweave.interop.export`). Live sources and sinks:
:mod:`~skyweave.interop.live`. GPL decoders (pyModeS, asterix-decoder) serve as test oracles only.
"""
