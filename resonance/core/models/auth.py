"""Dashboard users, their roles and the sites each may see."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    String,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from resonance.core.models.base import Base
from resonance.core.sizes import EMAIL_LEN

ROLES = ("admin", "marketer", "sales")


class User(Base):
    """A person who logs in to the dashboard (``resonance user add``).

    ``session_nonce`` is copied into the signed session cookie at login; it is
    replaced on logout, password reset and disable, which ends every session the
    user had (a cookie session cannot be revoked any other way).
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    session_nonce: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    # Where alerts about the user's leads and the weekly digest are sent.
    email: Mapped[str | None] = mapped_column(String(EMAIL_LEN))
    # Unsubscribed from the weekly digest (a link in every digest sets it).
    digest_opt_out: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # The first day of the week the last digest covered: a second run for the
    # same week skips the user (``resonance digest send --force`` does not).
    digest_sent_week: Mapped[date | None]


class UserSite(Base):
    """A site a (non-admin) user may see; admins see every site."""

    __tablename__ = "user_sites"
    __table_args__ = (Index(None, "site_id"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
