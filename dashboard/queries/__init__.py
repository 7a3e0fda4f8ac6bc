"""The dashboard's read queries: SQL in, frozen dataclasses out, one module per
question (import from the module that owns it). Aggregates are computed in SQL
on SQLite and PostgreSQL alike; no module here imports Flask or plotly."""
