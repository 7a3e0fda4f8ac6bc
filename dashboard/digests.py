"""The weekly digest as an e-mail: the HTML template and a text rendering of the
same :class:`~dashboard.queries.digest.Digest`, absolute links from
``PUBLIC_URL``, the signed unsubscribe link, and sending it to every user.

Rendered from the app's Jinja environment without a request (the CLI sends
outside requests, and the preview page shows byte for byte what the e-mail
holds). Titles come from browsers: Jinja's autoescape escapes every value in
the HTML part; the text part is plain text, never interpreted.

Idempotent per week: the week each user was last sent is recorded on the user
(``users.digest_sent_week``), committed right after each message, so a second
run for the same week (or a run restarted after a crash) skips them unless
``force``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.queries.digest import Digest, build_digest
from resonance.core.mail import MailError, MailSettings, compose, send
from resonance.core.models import User

TEMPLATE = "dashboard/digest_email.html"
SALT = "digest-unsubscribe"
# An unsubscribe link keeps working this long (old digests stay in inboxes).
UNSUBSCRIBE_MAX_AGE_S = 366 * 86_400


# --- the unsubscribe token ---------------------------------------------------------


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)


def unsubscribe_token(secret: str, user_id: int) -> str:
    """A token naming ``user_id``, signed with ``SECRET_KEY``: the credential of
    the unsubscribe link (it works without a login)."""
    return _serializer(secret).dumps(user_id)


def user_of_token(secret: str, token: str) -> int | None:
    """The user id a token names; None when tampered with, of another salt or
    key, or older than :data:`UNSUBSCRIBE_MAX_AGE_S`."""
    try:
        user_id = _serializer(secret).loads(token, max_age=UNSUBSCRIBE_MAX_AGE_S)
    except BadSignature:  # SignatureExpired is one too
        return None
    return user_id if isinstance(user_id, int) else None


# --- links -------------------------------------------------------------------------


class Links:
    """Absolute dashboard addresses from ``PUBLIC_URL`` (no request needed)."""

    def __init__(self, base_url: str):
        self.base = base_url.rstrip("/")
        self.urls = current_app.url_map.bind("localhost")
        self.endpoints = set(current_app.view_functions)

    def to(self, endpoint: str, **values) -> str:
        return self.base + self.urls.build(endpoint, values)

    def content(self, site_key: str, content_id: int) -> str:
        return self.to(
            "dashboard.content_page", site_key=site_key, content_id=content_id
        )

    def prospect(self, site_key: str, lead_id: int) -> str:
        return self.to("sales.prospect_page", site_key=site_key, lead_id=lead_id)

    def account(self, site_key: str, account_id: int) -> str | None:
        """The account page, once the accounts pages exist (else no link)."""
        if "accounts.account_page" not in self.endpoints:
            return None
        return self.to(
            "accounts.account_page", site_key=site_key, account_id=account_id
        )

    def unsubscribe(self, token: str) -> str:
        return self.to("digest_public.unsubscribe", key=token)

    def preview(self) -> str:
        return self.to("digest.preview")


# --- rendering ---------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """One digest ready to send."""

    subject: str
    text: str
    html: str
    headers: dict[str, str]


def week_label(digest: Digest) -> str:
    """``30 Nov – 6 Dec 2026``: the days the digest covers."""
    first = digest.run_day.toordinal() - 7
    start, end = date.fromordinal(first), date.fromordinal(first + 6)
    head = f"{start.day} {start:%b}" + (
        f" {start.year}" if start.year != end.year else ""
    )
    return f"{head} – {end.day} {end:%b %Y}"


def render(digest: Digest, settings: MailSettings, secret: str) -> Rendered:
    """The subject, text and HTML of ``digest`` and its unsubscribe headers."""
    links = Links(settings.base_url)
    unsubscribe = links.unsubscribe(unsubscribe_token(secret, digest.user_id))
    context = {
        "digest": digest,
        "week": week_label(digest),
        "links": links,
        "unsubscribe": unsubscribe,
    }
    html = current_app.jinja_env.get_template(TEMPLATE).render(**context)
    return Rendered(
        subject=f"Resonance: your week, {context['week']}",
        text=render_text(digest, context["week"], links, unsubscribe),
        html=html,
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def _line(text: str) -> str:
    """A browser's title on one line of plain text."""
    return " ".join(text.split())


def render_text(digest: Digest, week: str, links: Links, unsubscribe: str) -> str:
    """The plain-text part: the same sections as the HTML, in lines."""
    out = [f"Your week on Resonance, {week}", ""]
    for site in digest.sites:
        if site.empty:
            continue
        out += [f"== {_line(site.site_name)} ==", ""]
        if site.sales_reads:
            out.append("Read by leads who reached sales:")
            for r in site.sales_reads:
                out.append(
                    f"- {_line(r.title)}: {r.readers} readers, {r.views} views, "
                    f"{r.active_s:g} s active"
                )
                out.append(f"  {links.content(site.site_key, r.content_id)}")
            out.append("")
        if site.falls:
            out.append("Attention fell (average active time per view):")
            for f in site.falls:
                out.append(
                    f"- {_line(f.title)}: {f.avg_active_s:g} s this week "
                    f"({f.views} views) vs {f.avg_active_s_before:g} s the week "
                    f"before ({f.views_before} views), -{f.fall_pct:g} %"
                )
                out.append(f"  {links.content(site.site_key, f.content_id)}")
            out.append("")
        if site.accounts:
            out.append("Your accounts active this week:")
            for a in site.accounts:
                link = links.account(site.site_key, a.account_id)
                out.append(
                    f"- {_line(a.name)}: {a.people} people, {a.views} views"
                    + (f"  {link}" if link else "")
                )
            out.append("")
        if site.prospects:
            out.append("Your prospects active this week:")
            for p in site.prospects:
                who = _line(p.name or p.email or f"lead {p.lead_id}")
                extra = ", ".join(_line(x) for x in (p.email, p.account) if x)
                out.append(
                    f"- {who}" + (f" ({extra})" if extra and extra != who else "")
                )
                out.append(f"  {links.prospect(site.site_key, p.lead_id)}")
                for item in p.items:
                    verdict = "read" if item.read else "skimmed"
                    out.append(
                        f"    {_line(item.title)}: {item.views} views, "
                        f"{item.active_s:g} s active ({verdict})"
                    )
            out.append("")
    out += ["--", f"Unsubscribe from this digest: {unsubscribe}"]
    return "\n".join(out) + "\n"


# --- sending -----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What happened to one user's digest (``state``: sent, would send,
    skipped, failed)."""

    username: str
    state: str
    detail: str


def send_all(
    session: Session,
    run_day: date,
    *,
    dry_run: bool = False,
    username: str | None = None,
    force: bool = False,
    report: Callable[[Outcome], None] = lambda outcome: None,
) -> list[Outcome]:
    """Send each enabled user (or only ``username``) their digest for the week
    before ``run_day``; skip users without an e-mail, unsubscribed, already sent
    this week (unless ``force``) or with nothing to read. ``report`` is called
    as each user is done."""
    settings = MailSettings.from_config(current_app.config)
    secret = current_app.config["SECRET_KEY"]
    week = date.fromordinal(run_day.toordinal() - 7)
    query = select(User).where(User.enabled.is_(True)).order_by(User.username)
    if username:
        query = query.where(User.username == username.strip().lower())
    outcomes = []
    for user in session.scalars(query):
        outcome = _one(session, user, run_day, week, settings, secret, dry_run, force)
        outcomes.append(outcome)
        report(outcome)
    return outcomes


def _one(session, user, run_day, week, settings, secret, dry_run, force) -> Outcome:
    """One user's digest: why it is skipped, or sent (or would be)."""
    if not user.email:
        return Outcome(user.username, "skipped", "no e-mail address")
    if user.digest_opt_out:
        return Outcome(user.username, "skipped", "unsubscribed")
    if user.digest_sent_week == week and not force:
        return Outcome(
            user.username, "skipped", f"already sent for the week of {week.isoformat()}"
        )
    digest = build_digest(session, user, run_day)
    if digest.empty:
        return Outcome(user.username, "skipped", "nothing to read this week")
    rendered = render(digest, settings, secret)
    if dry_run:
        return Outcome(
            user.username, "would send", f"to {user.email}: {rendered.subject}"
        )
    message = compose(
        settings,
        user.email,
        rendered.subject,
        rendered.text,
        rendered.html,
        rendered.headers,
    )
    try:
        send(settings, message)
    except MailError as exc:
        return Outcome(user.username, "failed", str(exc))
    user.digest_sent_week = week
    session.commit()
    return Outcome(user.username, "sent", f"to {user.email}")
