"""A prospect reads the pricing page in real Chromium, through the real snippet
and collector under gunicorn (whose workers run the alert thread), and their
owner's e-mail arrives at a real SMTP server within 5 s of the beacon being
stored; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from conftest import BROWSER_UA, gunicorn
from sqlalchemy import select

from resonance.core.models import AlertDelivery, PageView
from tracker.crm import upsert_lead

pytestmark = pytest.mark.browser

ARTICLE = "/demo/blog/what-sales-wishes-marketing-knew"
PUBLIC = "https://resonance.example"


def test_the_owner_is_emailed_within_5_s_of_the_pricing_page_being_stored(
    database_url, tmp_path, session, demo_site, chromium, smtp
) -> None:
    lead = upsert_lead(
        session,
        demo_site.id,
        email="reader@example.com",
        name="Rae Reader",
        owner="sam@vendor.example",
        now=datetime.now(UTC).replace(tzinfo=None),
    ).lead
    session.commit()
    settings = {f"RESONANCE_{k}": str(v) for k, v in smtp.config.items()}
    settings["RESONANCE_PUBLIC_URL"] = PUBLIC
    arrived: list[float] = []

    def wait_for_mail() -> None:
        smtp.wait_for(1, timeout=60)
        arrived.append(time.monotonic())

    with gunicorn(database_url, tmp_path / "gunicorn.log", settings=settings) as server:
        context = chromium.new_context(user_agent=BROWSER_UA)
        page = context.new_page()
        page.goto(server.base + ARTICLE)
        page.wait_for_function("typeof window.resonance === 'function' && !resonance.q")
        page.evaluate("resonance('identify', {email: 'reader@example.com'})")
        page.wait_for_timeout(300)
        listener = threading.Thread(target=wait_for_mail, daemon=True)
        listener.start()
        page.goto(server.base + "/demo/pricing")
        page.wait_for_timeout(300)
        page.goto("about:blank")  # pagehide: the snippet sends at once

        stored_at = None
        deadline = time.monotonic() + 30
        while stored_at is None and time.monotonic() < deadline:
            session.expire_all()
            if session.scalar(
                select(PageView.id).where(PageView.url == server.base + "/demo/pricing")
            ):
                stored_at = time.monotonic()
            else:
                time.sleep(0.02)
        assert stored_at is not None, server.log.read_text()[-2000:]
        listener.join(30)
        context.close()

    assert arrived, "no e-mail arrived"
    print(f"alert e-mail {arrived[0] - stored_at:.3f} s after the beacon was stored")
    assert arrived[0] - stored_at < 5.0
    [message] = smtp.messages
    assert message["To"] == "sam@vendor.example"
    # "Rae Reader (<account>)": the account is the e-mail's domain (tracker.accounts).
    assert message["Subject"].startswith("[Resonance] Rae Reader (")
    assert message["Subject"].endswith(
        ") read Pricing · Northwind Pipeline (high intent)"
    )
    text = message.get_body(("plain",)).get_content()
    assert f"{PUBLIC}/dash/sites/demo/prospects/{lead.id}" in text
    session.expire_all()
    assert session.scalars(select(AlertDelivery.state)).all() == ["sent"]
