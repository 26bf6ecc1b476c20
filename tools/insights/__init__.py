"""Insights: did a merged fix work (impact verification), and which operations got slower.

Pure-Python statistics (no numpy/scipy): exact intervals for rate ratios and rank tests for durations.
"""
