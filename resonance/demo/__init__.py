"""The demo site served by the app itself, and the one beacon generator: the
demo's synthetic traffic (``traffic.py``) and ``bench/generate.py``'s load."""
