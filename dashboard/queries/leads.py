"""A lead's rows: the site's leads that were not merged, and the page views of
every visitor linked to a lead (``IdentityLink``, one visitor per browser). A
merged lead's links were moved to the survivor, so it is left out."""

from __future__ import annotations

from sqlalchemy import select

from resonance.core.models import IdentityLink, Lead, PageView


def identified(site: int):
    """WHERE clauses for a lead of the site that was not merged into another."""
    return (Lead.site_id == site, Lead.merged_into_id.is_(None))


def of_lead(site: int, lead_id: int):
    """WHERE clauses for the identity links of a lead of the site.

    The site is checked once on the lead (a primary-key lookup), not on every
    page view: the collector links a visitor only to a lead of its own site, so
    the lead's page views are the site's anyway. Without a page-view condition
    the planner reaches them through the lead's visitors (index on
    ``visitor_id``) instead of scanning the whole site's page views, as SQLite
    (without statistics) did.
    """
    owner = select(Lead.site_id).where(Lead.id == lead_id).scalar_subquery()
    return (IdentityLink.lead_id == lead_id, owner == site)


def lead_page_views(site: int, lead_id: int):
    """The ids of every page view of the visitors linked to a lead."""
    return (
        select(PageView.id)
        .join(IdentityLink, IdentityLink.visitor_id == PageView.visitor_id)
        .where(*of_lead(site, lead_id))
    )
