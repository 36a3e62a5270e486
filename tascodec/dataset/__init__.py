"""The standard dataset layout on disk and what is read from it: reading (``layout``), split
names (``splits``), writing (``layout_write``), the orientation rule and frame subsampling
(``orientation``), what codecs and the TCA read (``source``), which videos an encode stores
(``sampling``). Below ``format``: nothing here reads or writes an archive."""
