"""Actors: pure entity cores (``*/state.py``) beside the thin Ray shells that host them."""
