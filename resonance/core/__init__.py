"""The foundation every other layer stands on: configuration, the database and
its models, the SQL dialect, the clock, errors and the page-or-JSON choice.

Imports nothing of ``tracker``, ``dashboard``, ``resonance.auth`` or above
(``.importlinter``)."""
