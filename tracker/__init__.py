"""The write side of Resonance: the snippet's endpoints and everything they store.

A beacon flows one way: ``collector`` (``POST /e``, validated in the request's
thread) → ``writer`` (group commits) or, under load, ``inbox`` (kept, then
drained) → ``ingest``, the only module that writes the event tables. The CRM
API, the CSV import, the catalog and snapshots write their own tables beside
it. Nothing here imports the dashboard: it reads what this package stores.
"""
