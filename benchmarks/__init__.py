"""Benchmarks: runnable modules that print tables (``python -m benchmarks.<name> --help``).

Run from the repository root with tascodec installed (``pip install -e .``); figures, with the
date, machine and command of each, are in ``benchmarks/RESULTS.md``.
"""
