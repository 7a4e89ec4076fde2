"""Benchmarks of the foundation: `make bench` (cold start, page load, first install).

Each module runs alone too: `python -m bench.cold_start`, `python -m bench.page_load`,
`python -m bench.install`. Ratios are against a blank Reflex app (`reflex init --template blank`)
served the same way, since the issue names no baseline of its own.
"""
