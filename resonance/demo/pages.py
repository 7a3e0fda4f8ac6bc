"""The demo marketing site of "Northwind Pipeline", a fictional B2B SaaS.

Owns: the ``/demo`` blueprint, which serves a small but real site (landing page,
blog, pricing, contact form) carrying the Resonance snippet, so that a fresh
install has pages to click through and heatmaps to look at. Its layout is
captured by ``scripts/demo_layout.py`` into ``layout.json``, which ``site.py``
reads for the synthetic traffic of ``traffic.py``.

Must not import: the tracker, the dashboard, the database. The app factory
registers :data:`bp`; nothing here depends on the rest of the app.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, current_app, render_template

bp = Blueprint(
    "demo",
    __name__,
    url_prefix="/demo",
    template_folder="templates",
    static_folder="static",
)


@dataclass(frozen=True)
class Article:
    """A blog article: its metadata here, its body in ``demo/article_<slug>.html``."""

    slug: str
    title: str
    summary: str
    author: str
    role: str
    published: str  # ISO date, shown as written
    minutes: int  # reading time shown on the page

    @property
    def template(self) -> str:
        """Body template; slugs use hyphens, template names underscores."""
        return f"demo/article_{self.slug.replace('-', '_')}.html"


ARTICLES: tuple[Article, ...] = (
    Article(
        slug="what-sales-wishes-marketing-knew",
        title="What sales wishes marketing knew",
        summary=(
            "Seven things account executives say in the hallway but rarely in the "
            "pipeline review, and what marketing can do with each of them."
        ),
        author="Dana Whitfield",
        role="VP Sales",
        published="2025-09-04",
        minutes=5,
    ),
    Article(
        slug="lead-scoring-that-sales-trusts",
        title="Lead scoring that sales trusts",
        summary=(
            "Most scoring models fail quietly: reps stop looking at the number. "
            "Here is how to build one they check before every call."
        ),
        author="Priya Raman",
        role="Head of Marketing Operations",
        published="2025-09-18",
        minutes=5,
    ),
    Article(
        slug="content-audit-playbook",
        title="The content audit playbook",
        summary=(
            "A two-week method to find out which of your articles are read, which "
            "are skimmed, and which ones quietly help close deals."
        ),
        author="Marcus Lindqvist",
        role="Content Lead",
        published="2025-10-02",
        minutes=5,
    ),
    Article(
        slug="mql-to-sql-in-30-days",
        title="From MQL to SQL in 30 days",
        summary=(
            "A month-long plan to shorten the gap between a marketing-qualified "
            "lead and a first sales conversation, week by week."
        ),
        author="Elena Okafor",
        role="Revenue Operations Manager",
        published="2025-10-16",
        minutes=5,
    ),
)
ARTICLES_BY_SLUG = {article.slug: article for article in ARTICLES}

# Paths of every page, in the order the layout script visits them.
PAGE_PATHS: tuple[str, ...] = (
    "/demo/",
    "/demo/blog/",
    *(f"/demo/blog/{article.slug}" for article in ARTICLES),
    "/demo/pricing",
    "/demo/contact",
    "/demo/thanks",
)


@bp.context_processor
def _site_key() -> dict[str, str]:
    """Every page's snippet tag needs the site key the demo data is stored under."""
    return {"site_key": current_app.config.get("DEMO_SITE_KEY", "demo")}


@bp.route("/")
def landing() -> str:
    return render_template("demo/landing.html", articles=ARTICLES[:3])


@bp.route("/blog/")
def blog_index() -> str:
    return render_template("demo/blog_index.html", articles=ARTICLES)


@bp.route("/blog/<slug>")
def article(slug: str) -> str:
    found = ARTICLES_BY_SLUG.get(slug)
    if found is None:
        abort(404)
    related = [other for other in ARTICLES if other.slug != slug][:2]
    return render_template(found.template, article=found, related=related)


@bp.route("/pricing")
def pricing() -> str:
    return render_template("demo/pricing.html")


@bp.route("/contact")
def contact() -> str:
    return render_template("demo/contact.html")


@bp.route("/thanks")
def thanks() -> str:
    # The form is sent with GET, so the fields arrive in the query string; the
    # page deliberately does not echo them back.
    return render_template("demo/thanks.html", articles=ARTICLES[:2])
