"""Passes, one per file; `pipeline.py` lists each pipeline in order."""
