"""Rendering facts into each upstream's real format (one module per format family)."""
