"""Every table of Resonance, as typed SQLAlchemy 2.0 models.

Owns: the schema (Alembic migrations are generated from it). Imports no Flask and
nothing else of the app, so the dashboard's queries, the CLI and the migrations can
all use it.

Conventions: every ``*_at`` column is a naive UTC datetime; ``*_ms`` milliseconds;
``*_px`` CSS pixels; ``*_pct`` percent 0–100. Page views, clicks and identify calls
carry the client's event id, unique per site, which is what makes a re-sent batch
harmless. Scroll and attention are cumulative state kept on the page view, its
sections and its bands (the collector keeps the maximum), so they are idempotent
too.

One module per domain; this package re-exports every table so that
``Base.metadata`` holds them all (Alembic compares against it) and
callers may import any model from ``resonance.core.models``.
"""

from resonance.core.models.accounts import (
    CHANNELS,
    DELIVERY_STATES,
    RULE_KINDS,
    Account,
    Alert,
    AlertDelivery,
    AlertRule,
)
from resonance.core.models.auth import ROLES, User, UserSite
from resonance.core.models.base import Base
from resonance.core.models.content import (
    CONTENT,
    CONTENT_KINDS,
    CONVERSION,
    Content,
    ContentDaily,
    ContentGroup,
    ContentSection,
    RollupState,
    Snapshot,
    SnapshotElement,
)
from resonance.core.models.events import (
    AttentionBand,
    BotHit,
    Click,
    Identify,
    InboxBeacon,
    PageSection,
    PageView,
)
from resonance.core.models.leads import (
    ApiToken,
    Erasure,
    IdentityConflict,
    IdentityLink,
    Lead,
    Note,
    StageChange,
)
from resonance.core.models.sites import PRIVACY_MODES, Site
from resonance.core.models.summaries import (
    BandTotal,
    DepthTotal,
    ElementTotal,
    GridTotal,
    SectionTotal,
    SourceTotal,
    SpreadTotal,
    SummaryChange,
    TextTotal,
    ViewTotal,
)
from resonance.core.models.visitors import DEVICES, DailySalt, Visitor, VisitSession

__all__ = [
    "CHANNELS",
    "DELIVERY_STATES",
    "RULE_KINDS",
    "Account",
    "Alert",
    "AlertDelivery",
    "AlertRule",
    "Base",
    "PRIVACY_MODES",
    "Site",
    "DEVICES",
    "DailySalt",
    "Visitor",
    "VisitSession",
    "CONTENT",
    "CONTENT_KINDS",
    "CONVERSION",
    "Content",
    "ContentSection",
    "ContentGroup",
    "Snapshot",
    "SnapshotElement",
    "ContentDaily",
    "RollupState",
    "SectionTotal",
    "DepthTotal",
    "BandTotal",
    "ViewTotal",
    "SpreadTotal",
    "SourceTotal",
    "ElementTotal",
    "TextTotal",
    "GridTotal",
    "SummaryChange",
    "PageView",
    "Click",
    "PageSection",
    "AttentionBand",
    "Identify",
    "BotHit",
    "InboxBeacon",
    "Lead",
    "StageChange",
    "ApiToken",
    "Note",
    "IdentityLink",
    "IdentityConflict",
    "Erasure",
    "ROLES",
    "User",
    "UserSite",
]
