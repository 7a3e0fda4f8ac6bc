"""The demo site served by the app itself, and its synthetic traffic."""
