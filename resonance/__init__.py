"""Resonance: a self-hosted content heatmap and engagement tracker.

The layers, lowest first (ARCHITECTURE.md; import-linter checks them):
``resonance.core`` (config, database, models, clock, errors) → ``tracker``
(the write side) and ``resonance.auth`` → ``dashboard`` (the read side) →
``resonance.demo`` → ``resonance.app`` (the factory) and ``resonance.cli``.
Importing this package loads nothing, so the writer importing
``resonance.core.db`` does not pull in the dashboard.
"""
