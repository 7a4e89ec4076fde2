"""Assetry: generate short-form video, see how it performs."""

from assetry import logs

# Before anything logs: no record made in an Assetry process names a person (assetry/logs.py).
logs.install()
