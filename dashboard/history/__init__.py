"""The archive's read side: one row of facts per case, kept current as events are archived, and the
queries the analyst workbench, exports and the tablet's previous periods read (decision 033)."""
