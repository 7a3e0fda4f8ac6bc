"""The alerts page (newest first, delivery states, "mine" for sales users), the
rules page (defaults, edits, the webhook secret shown once) and high-intent
pages marked by hand, each with its JSON twin and role checks."""

from __future__ import annotations

from sqlalchemy import select, update

from resonance.core.models import AlertRule, Content, Site, User
from tests.conftest import csrf_token, form_csrf_token
from tests.test_alerts_rules import BLOG, T0, known_lead, store, view


def _alert(session, owner: str) -> None:
    known_lead(session, owner=owner)
    store(session, view(f"{BLOG}/pricing", T0))


def test_the_alerts_page_lists_alerts_with_their_delivery(
    session, site, login_as
) -> None:
    _alert(session, "sam@vendor.example")
    client = login_as("admin")
    twin = client.get("/dash/sites/blog/alerts?format=json").get_json()
    [alert] = twin["alerts"]
    assert (alert["rule"], alert["summary"], alert["owner"]) == (
        "high_intent",
        "Ann Lee read Pricing (high intent)",
        "sam@vendor.example",
    )
    [delivery] = alert["deliveries"]
    assert (delivery["channel"], delivery["state"], delivery["attempts"]) == (
        "email",
        "pending",
        0,
    )
    html = client.get("/dash/sites/blog/alerts").get_data(as_text=True)
    assert f"/dash/sites/blog/prospects/{alert['lead_id']}" in html
    assert "email pending" in html


def test_sales_users_see_their_own_alerts_by_default(session, site, login_as) -> None:
    _alert(session, "someone@else.example")
    client = login_as("sales", sites=["blog"])
    user = session.scalar(select(User).where(User.role == "sales"))
    mine = client.get("/dash/sites/blog/alerts?format=json").get_json()
    assert (mine["mine"], mine["alerts"]) == (True, [])
    everyone = client.get("/dash/sites/blog/alerts?mine=0&format=json").get_json()
    assert len(everyone["alerts"]) == 1
    session.execute(
        update(User).where(User.id == user.id).values(email="Someone@Else.example")
    )
    session.commit()
    again = client.get("/dash/sites/blog/alerts?format=json").get_json()
    assert len(again["alerts"]) == 1


def test_the_rules_page_makes_the_defaults_and_saves_edits(
    session, site, login_as
) -> None:
    client = login_as("admin")
    twin = client.get("/dash/sites/blog/alerts/rules?format=json").get_json()
    assert [
        (r["kind"], r["enabled"], r["stage"], r["days_away"]) for r in twin["rules"]
    ] == [
        ("returning", True, "sql", 14),
        ("high_intent", True, None, None),
        ("second_person", True, None, None),
    ]
    returning, high, second = (r["id"] for r in twin["rules"])
    page = client.get("/dash/sites/blog/alerts/rules").get_data(as_text=True)
    form = {
        "csrf_token": form_csrf_token(page),
        "action": "rules",
        f"enabled_{returning}": "on",
        f"stage_{returning}": "opportunity",
        f"days_{returning}": "30",
        f"enabled_{high}": "on",
    }
    assert client.post("/dash/sites/blog/alerts/rules", data=form).status_code == 303
    session.expire_all()
    rules = session.execute(
        select(
            AlertRule.kind, AlertRule.enabled, AlertRule.stage, AlertRule.days_away
        ).order_by(AlertRule.id)
    ).all()
    assert rules == [
        ("returning", True, "opportunity", 30),
        ("high_intent", True, None, None),
        ("second_person", False, None, None),
    ]
    bad = form | {f"days_{returning}": "0"}
    answer = client.post("/dash/sites/blog/alerts/rules", data=bad)
    assert answer.status_code == 400
    assert "a whole number of days, 1 to 365" in answer.get_data(as_text=True)


def test_the_webhook_secret_is_shown_once(session, site, login_as) -> None:
    client = login_as("admin")
    page = client.get("/dash/sites/blog/alerts/rules").get_data(as_text=True)
    token = form_csrf_token(page)
    first = client.post(
        "/dash/sites/blog/alerts/rules",
        data={
            "csrf_token": token,
            "action": "webhook",
            "webhook_url": "https://hooks.example/x",
        },
    )
    session.expire_all()
    secret = session.scalar(select(Site.webhook_secret).where(Site.id == site.id))
    assert len(secret) == 64 and secret in first.get_data(as_text=True)
    later = client.get("/dash/sites/blog/alerts/rules").get_data(as_text=True)
    assert secret not in later and "A signing secret is set" in later
    twin = client.get("/dash/sites/blog/alerts/rules?format=json").get_json()
    assert (twin["webhook_url"], twin["webhook_secret_set"]) == (
        "https://hooks.example/x",
        True,
    )
    assert "webhook_secret" not in twin


def test_only_admins_edit_rules_and_sales_read_alerts(site, login_as) -> None:
    marketer = login_as("marketer", sites=["blog"])
    assert marketer.get("/dash/sites/blog/alerts/rules").status_code == 403
    sales = login_as("sales", sites=["blog"])
    assert sales.get("/dash/sites/blog/alerts").status_code == 200
    assert sales.get("/dash/sites/blog/alerts/rules").status_code == 403


def test_a_page_is_marked_high_intent_by_hand(session, site, login_as) -> None:
    store(session, view(f"{BLOG}/posts/story", T0))
    content_id = session.scalar(select(Content.id))
    client = login_as("marketer", sites=["blog"])
    answer = client.post(
        f"/dash/sites/blog/content/{content_id}/high-intent",
        json={"high_intent": 1},
        headers={"X-CSRFToken": csrf_token(client), "Accept": "application/json"},
    )
    assert answer.get_json() == {
        "content_id": content_id,
        "high_intent": True,
        "source": "hand",
    }
    session.expire_all()
    row = session.execute(select(Content.high_intent, Content.high_intent_source)).one()
    assert tuple(row) == (True, "hand")
