"""Leads and CRM commands: API tokens, CSV import."""

from __future__ import annotations

import click

commands: list[click.Command] = []
