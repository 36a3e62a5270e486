"""The process a run happens in: devices (``devices``), run-to-run determinism
(``determinism``), several processes on one encode (``parallel``, ``world``) and temporary
files beside their destination (``tempfiles``). Nothing here knows about archives or datasets."""
