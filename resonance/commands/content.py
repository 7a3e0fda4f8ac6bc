"""Content catalog commands: crawl, inject, snapshot."""

from __future__ import annotations

import click

commands: list[click.Command] = []
