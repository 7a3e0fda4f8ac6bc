"""The sites Resonance tracks and their settings (privacy mode, origins, time zone)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from resonance.core.models.base import Base
from resonance.core.sizes import URL_LEN

PRIVACY_MODES = ("anonymous", "consented", "always")


class Site(Base):
    """A website whose pages embed the snippet with ``data-site=key``."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Origins (scheme://host[:port]) whose pages may send beacons; "*" allows any.
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    privacy_mode: Mapped[str] = mapped_column(String(16), default="anonymous")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    # A lead "reached sales" the first time it entered this stage or a later one.
    reached_sales_stage: Mapped[str] = mapped_column(String(16), default="sql")
    # Leads whose e-mail domain is listed count as internal (colleagues).
    internal_domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Alerts are also posted here, signed with HMAC-SHA256 of the secret.
    webhook_url: Mapped[str | None] = mapped_column(String(URL_LEN))
    webhook_secret: Mapped[str | None] = mapped_column(String(64))
