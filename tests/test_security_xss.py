"""Hostile text in every field that reaches a dashboard page, read in real Chromium.

Payloads go in through the real doors of a live gunicorn: beacons to ``POST /e``,
the CRM API under ``/api`` with a bearer token, the note form, and the query
string of pages that echo it. Then every dashboard page is opened in headless
Chromium with a canary: ``window.__xss`` is a trap that reports any write,
dialogs (``alert``) are recorded, console errors collected. Pages are read with
the CSP bypassed, so escaping is proven on its own; the tests at the end prove
the CSP on its own (figures draw with no violation, an injected script is
refused).

Every dashboard page is opened through :func:`open_dashboard` only, so a login
step can be added there once.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

import pytest
from conftest import BROWSER_UA, ORIGIN, form_csrf_token
from factories import NOW_MS, attention, batch, click, identify, layout, pv, scroll
from sqlalchemy import select

from resonance.core.models import Content, ContentGroup, Site
from tracker.sites import create_site
from tracker.tokens import create_token

PAYLOADS = (
    "<script>window.__xss=1</script>",
    '"><img src=x onerror="window.__xss=1">',
    "javascript:window.__xss=1",
    "<svg onload=window.__xss=1>",
    "{{7*7}} ${7*7} #{7*7} <%= 7*7 %>",
    "'><details open ontoggle=alert(1)>",
    "</script><script>window.__xss=1</script>",
    '<a href="javascript:window.__xss=1">link</a>',
    "&lt;b&gt;already escaped&amp;",
)
# Valid e-mail addresses (no space, < > or ") that are still hostile.
EMAIL_TAGS = (
    "{{7*7}}",
    "${7*7}",
    "javascript:window.__xss=1",
    "'onmouseover='window.__xss=1",
    "&amp;x",
    "%3cscript%3e",
    "a'--",
    "{%debug%}",
    "`x`",
)
# The fields each payload is stored in, by the door it comes through.
FIELDS = {
    "beacon": (
        "title",
        "url path",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "referrer path",
        "selector",
        "element text",
        "link href (payload as URL)",
        "link href (payload in http path)",
        "heading h1",
        "heading h2",
        "identify e-mail",
    ),
    "crm api": ("lead name", "company", "owner", "stage raw value"),
    "note form": ("note body", "note section"),
    "admin": ("site name", "content group name"),
    "query string": ("content search q", "prospect search q", "since (400 page)"),
}
CANARY = """
(() => {
  Object.defineProperty(window, "__xss", {
    configurable: false,
    get() { return undefined; },
    set(value) { window.__xss_report(String(value)); },
  });
  window.addEventListener("securitypolicyviolation", (e) =>
    window.__csp_report(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`));
})();
"""


@dataclass
class Canary:
    """What hostile input managed to do in the browser: writes to the trap,
    dialogs, console errors and CSP violations, with the page they came from."""

    fired: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SignedIn:
    """An admin's session on the live server: its cookie and CSRF token."""

    base: str
    cookie: str  # "name=value"
    csrf: str

    def headers(self) -> dict[str, str]:
        return {"Cookie": self.cookie}


@pytest.fixture
def admin(live_server, live_user) -> SignedIn:
    """Log an admin in through the real login form (urllib, no browser)."""
    user = live_user("admin")
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(live_server + "/login", timeout=15) as response:
        form = response.read().decode()
    token = form_csrf_token(form)
    fields = {"csrf_token": token, "username": user.username}
    fields["password"] = user.password
    with opener.open(live_server + "/login", urlencode(fields).encode(), 15):
        pass
    with opener.open(live_server + "/dash/", timeout=15) as response:
        page = response.read().decode()
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)
    cookie = next(c for c in jar if c.name == "session")  # the CSRF secret added
    return SignedIn(live_server, f"{cookie.name}={cookie.value}", csrf)


def canary_context(chromium, admin: SignedIn, *, bypass_csp: bool):
    """A browser context, logged in as ``admin``, whose every page (and frame)
    carries the canary."""
    context = chromium.new_context(
        user_agent=BROWSER_UA,
        viewport={"width": 1280, "height": 900},
        bypass_csp=bypass_csp,
    )
    name, _, value = admin.cookie.partition("=")
    context.add_cookies([{"name": name, "value": value, "url": admin.base}])
    canary = Canary()
    context.expose_binding(
        "__xss_report", lambda source, value: canary.fired.append(f"{value}")
    )
    context.expose_binding(
        "__csp_report", lambda source, value: canary.violations.append(value)
    )
    context.add_init_script(CANARY)
    # Flask's error pages have no icon link: the browser's guess would be a 404.
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    return context, canary


def open_dashboard(context, canary: Canary, url: str, status: int = 200):
    """Open a dashboard page in the browser and wait until its figures are drawn.

    The one place tests open dashboard pages: a login step belongs here.
    """
    page = context.new_page()
    page.on("dialog", lambda dialog: (canary.dialogs.append(url), dialog.dismiss()))
    page.on("pageerror", lambda exc: canary.errors.append(f"{url}: {exc}"))
    page.on("console", lambda msg: _console(canary, url, msg, status))
    response = page.goto(url)
    assert response is not None and response.status == status, url
    canary.pages.append(url)
    figures = page.locator("[data-figure], [data-sales-figure]").count()
    if figures:
        page.wait_for_function(
            f"document.querySelectorAll('.js-plotly-plot').length >= {figures}",
            timeout=15_000,
        )
    return page


def _console(canary: Canary, url: str, msg, status: int) -> None:
    expected = status != 200 and f"status of {status}" in msg.text
    if msg.type == "error" and not expected:
        canary.errors.append(f"{url}: {msg.text}")


# --- data in through the real doors ------------------------------------------------


def _request(url: str, body: bytes, headers: dict, method: str = "POST"):
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _beacon(base: str, body: dict) -> None:
    status, answer = _request(
        base + "/e",
        json.dumps(body).encode(),
        {
            "Content-Type": "text/plain;charset=UTF-8",
            "User-Agent": BROWSER_UA,
            "Origin": ORIGIN,
        },
    )
    assert status == 204, answer


def _api(base: str, token: str, path: str, body: dict) -> dict:
    status, answer = _request(
        base + "/api" + path,
        json.dumps(body).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert status == 200, answer
    return json.loads(answer)


def _note(admin: SignedIn, lead_id: int, content_id: int, payload: str) -> None:
    base = admin.base
    form = {
        "csrf_token": admin.csrf,
        "content_id": str(content_id),
        "body": payload,
        "section": payload,
    }
    url = f"{base}/dash/sites/blog/prospects/{lead_id}/notes"
    request = urllib.request.Request(
        url,
        data=urlencode(form).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": base,
            "Referer": base + "/dash/",
            **admin.headers(),
        },
        method="POST",
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(request, timeout=15)
        status = 200
    except urllib.error.HTTPError as error:
        status = error.code
    assert status == 303, f"note form answered {status}"


def email_of(k: int) -> str:
    return f"x{k}.{EMAIL_TAGS[k]}@buyer.example".lower()


def _reading(k: int, payload: str, with_utm: bool) -> list[dict]:
    """One page view of item ``k`` with the payload in every beacon field."""
    path = f"/xss/{k}/{quote(payload, safe='')}"
    utm = {key: payload for key in ("utm_source", "utm_medium", "utm_campaign")}
    url = ORIGIN + path + ("?" + urlencode(utm) if with_utm else "")
    view = pv(
        url=url,
        ti=payload,
        r=None if with_utm else f"https://ref.example/{quote(payload, safe='')}",
        ts=NOW_MS - 7_200_000,
    )
    p = view["p"]
    return [
        view,
        layout(p, [[1, payload, 0, 800], [2, f"{payload} two", 800, 1200]]),
        scroll(p, 1900, 2000),
        attention(p, 60_000, [[0, 30_000], [1, 25_000]]),
        click(p, s=payload, tx=payload[:60], h=payload, tg="a"),
        click(p, s=f"#x{k}", tx=payload[:60], h=f"https://out.example/{payload}"),
        identify(p, email_of(k)),
    ]


@pytest.fixture
def hostile(live_server, admin, session, site) -> dict:
    """Every payload in every field, through the collector, the CRM API and the
    note form of the live server; returns the ids the pages need."""
    for k, payload in enumerate(PAYLOADS):
        create_site(session, payload, origins=[ORIGIN], key=f"xss{k}")
        session.add(ContentGroup(site_id=site.id, name=payload, pattern=f"/xss/{k}/**"))
    token = create_token(session, site.id, "xss", datetime.now(UTC))
    session.commit()

    for k, payload in enumerate(PAYLOADS):
        _beacon(live_server, batch(*_reading(k, payload, True), v=f"xssv{k:04d}"))
        _beacon(live_server, batch(*_reading(k, payload, False), v=f"xssw{k:04d}"))
        # The closer reads everything, then reaches sales: influence has rows.
        closer = _reading(k, payload, True)[:4]
        _beacon(
            live_server,
            batch(
                *closer, identify(closer[0]["p"], "closer@buyer.example"), v="xssc0001"
            ),
        )
    leads = _api(
        live_server,
        token,
        "/leads",
        {
            "leads": [
                {"email": email_of(k), "name": p, "company": p, "owner": p}
                for k, p in enumerate(PAYLOADS)
            ]
        },
    )["leads"]
    now = datetime.now(UTC).isoformat()
    stages = [
        {
            "email": email_of(k),
            "crm_event_id": f"xss-{k}",
            "stage": p,
            "entered_at": now,
        }
        for k, p in enumerate(PAYLOADS)
    ]
    stages.append(
        {
            "email": "closer@buyer.example",
            "crm_event_id": "xss-closer",
            "stage": "Sales Qualified Lead",
            "entered_at": now,
        }
    )
    assert _api(live_server, token, "/stages", {"stages": stages})["recorded"] == 10

    session.expire_all()
    contents = {}
    for k in range(len(PAYLOADS)):
        contents[k] = session.scalar(
            select(Content.id).where(
                Content.site_id == site.id, Content.url.like(f"%/xss/{k}/%")
            )
        )
        _note(admin, leads[k]["id"], contents[k], PAYLOADS[k])
    assert session.scalar(select(Site.id).where(Site.key == "xss0"))
    return {"leads": [lead["id"] for lead in leads], "contents": contents}


def _pages(base: str, data: dict) -> list[tuple[str, int, list[str]]]:
    """(url, status, texts that must be visible as text) for every page."""
    dash = base + "/dash/sites/blog"
    everything = list(PAYLOADS)
    pages = [
        (base + "/dash/", 200, everything),
        (base + "/dash/sites/", 200, everything),
        (dash + "/content", 200, everything),
        (dash + "/content?group=1", 200, everything),
        (dash + "/prospects", 200, everything),
        (dash + "/influence", 200, everything),
        (dash + "/influence?sort=title", 200, everything),
    ]
    for k, payload in enumerate(PAYLOADS):
        item = f"{dash}/content/{data['contents'][k]}"
        lead = f"{dash}/prospects/{data['leads'][k]}"
        query = urlencode({"q": payload})
        pages += [
            (f"{base}/dash/sites/xss{k}/settings", 200, [payload]),
            (item, 200, [payload, f"{payload} two"]),
            (lead, 200, [payload, email_of(k)]),
            (f"{dash}/content?{query}", 200, []),
            (f"{dash}/prospects?{query}", 200, []),
            (f"{dash}/content?{urlencode({'since': payload})}", 400, []),
        ]
    # Every segment and a comparison, on one item (the fields are the same).
    item = f"{dash}/content/{data['contents'][0]}"
    pages += [
        (item + query, 200, [PAYLOADS[0], f"{PAYLOADS[0]} two"])
        for query in (
            "?segment=all&compare=leads",
            "?segment=sales&compare=stage:other",
            "?segment=stage:other&device=desktop&internal=exclude",
        )
    ]
    return pages


def test_hostile_text_in_every_field_never_runs_on_any_dashboard_page(
    hostile, live_server, admin, chromium
):
    pages = _pages(live_server, hostile)
    context, canary = canary_context(chromium, admin, bypass_csp=True)
    shown = 0
    try:
        for url, status, texts in pages:
            page = open_dashboard(context, canary, url, status)
            text = page.inner_text("body")
            for expected in texts:
                assert expected in text, f"{expected!r} is not shown on {url}"
                shown += 1
            for name in ("q", "since"):
                if f"{name}=" in url and status == 200:
                    value = page.input_value(f"input[name={name}]")
                    assert value in PAYLOADS, f"{url}: the {name} box holds {value!r}"
                    assert urlencode({name: value}) in url
            page.close()
    finally:
        context.close()
    injected = len(PAYLOADS) * sum(len(f) for f in FIELDS.values())
    print(
        f"\nXSS: {len(PAYLOADS)} payloads x {sum(map(len, FIELDS.values()))} fields"
        f" = {injected} stored or reflected values; {len(canary.pages)} page loads;"
        f" {shown} payload texts seen as text"
    )
    assert canary.fired == [] and canary.dialogs == [], canary
    assert canary.errors == []
    assert len(canary.pages) == len(pages)


def test_no_page_html_holds_a_payload_unescaped(hostile, live_server, admin):
    """The same pages as raw HTML: no payload with markup appears verbatim (the
    browser test above proves nothing runs; this one names the page and field)."""
    marked = [p for p in PAYLOADS if re.search(r"[<>\"']", p)]
    for url, status, _ in _pages(live_server, hostile):
        code, body = _request(url, None, admin.headers(), method="GET")
        assert code == status, url
        html = body.decode()
        for payload in marked:
            assert payload not in html, f"{payload!r} unescaped in {url}"


# --- the Content-Security-Policy ---------------------------------------------------


NONCE = re.compile(r"script-src 'nonce-([A-Za-z0-9_-]{20,})'")


def _csp(response) -> str:
    policy = response.headers.get("Content-Security-Policy", "")
    assert policy, f"no CSP on {response.request.path}"
    return policy


def test_dashboard_pages_send_a_csp_with_a_fresh_nonce_on_every_script(
    client, site, session
):
    first = client.get("/dash/")
    second = client.get("/dash/")
    nonces = [NONCE.search(_csp(r)).group(1) for r in (first, second)]
    assert nonces[0] != nonces[1]

    create_site(session, "Other", origins=[ORIGIN], key="other")
    session.commit()
    for path in (
        "/dash/",
        "/dash/sites/blog/content",
        "/dash/sites/blog/prospects",
        "/dash/sites/blog/influence",
        "/dash/sites/blog/content?format=json",
        "/dash/sites/blog/content?since=nope",
    ):
        response = client.get(path)
        policy = _csp(response)
        script_src = re.search(r"script-src ([^;]*)", policy).group(1)
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
        assert "'self'" not in script_src  # only scripts carrying the nonce
        assert "frame-ancestors 'none'" in policy
        assert "object-src 'none'" in policy and "base-uri 'none'" in policy
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        nonce = NONCE.search(policy).group(1)
        for tag in re.findall(r"<script\b[^>]*>", response.get_data(as_text=True)):
            assert f'nonce="{nonce}"' in tag or 'type="application/json"' in tag, tag


def test_collector_api_and_demo_get_nosniff_but_no_page_policy(client, site):
    for response in (
        client.get("/e?s=blog"),
        client.post("/e", data=b"{}"),
        client.get("/api/leads/x"),
        client.get("/r.js"),
    ):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "Content-Security-Policy" not in response.headers


@pytest.fixture
def drawn(hostile, live_server, admin) -> list[str]:
    """Pages with Plotly figures: content pages (with a comparison), influence."""
    dash = live_server + "/dash/sites/blog"
    item = f"{dash}/content/{hostile['contents'][0]}"
    return [item, item + "?segment=all&compare=leads", dash + "/influence"]


def test_plotly_figures_draw_under_the_csp_with_no_violation(drawn, admin, chromium):
    context, canary = canary_context(chromium, admin, bypass_csp=False)
    try:
        for url in drawn:
            page = open_dashboard(context, canary, url)
            assert page.locator(".js-plotly-plot").count() >= 1
            # plotly.js filled its stylesheet (modebar, hover) through the CSSOM.
            rules = page.evaluate(
                "document.getElementById('plotly.js-style-global').sheet"
                ".cssRules.length"
            )
            assert rules > 10
            page.close()
    finally:
        context.close()
    assert canary.violations == []
    assert canary.errors == [] and canary.fired == []


def test_the_csp_refuses_a_script_that_escaping_let_through(drawn, admin, chromium):
    """Defence in depth: were a payload ever printed raw, the policy would still
    refuse it. The page's HTML is altered in flight to hold injected markup."""
    context, canary = canary_context(chromium, admin, bypass_csp=False)
    injected = (
        "<script>window.__xss=1</script>"
        '<img src="data:," onerror="window.__xss=2">'
        '<script src="/r.js"></script>'
        "<style>body{display:none}</style>"
    )

    def inject(route):
        response = route.fetch()
        body = response.text().replace("<main>", "<main>" + injected, 1)
        route.fulfill(response=response, body=body)

    context.route(re.compile(r".*/dash/sites/blog/influence$"), inject)
    try:
        page = open_dashboard(context, canary, drawn[-1])
        assert page.locator(".js-plotly-plot").count() == 1  # ours still run
        assert page.evaluate("typeof window.resonance") == "undefined"
        assert page.is_visible("main")
    finally:
        context.close()
    assert canary.fired == []
    directives = sorted({v.split()[0] for v in canary.violations})
    assert directives == ["script-src-attr", "script-src-elem", "style-src-elem"]
