"""The dashboard: the read side of Resonance.

Data flows one way: ``queries`` (SQL → frozen dataclasses, no Flask) → ``figures``
(dataclasses → Plotly figures, no database) → ``views`` (request → page or JSON).
"""
