"""The collector: the snippet's endpoints and the write side of Resonance.

Data flows one way: ``views`` (HTTP) → ``ingest`` (the only writer of events) →
``models``. Nothing here imports the dashboard.
"""
