"""What three dependencies do for the tracker: tzdata gives time zones on a
machine without system zone data, idna spells non-ASCII hosts as browsers do
(UTS 46, non-transitional), crawler-user-agents names the bots."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from conftest import count, csrf_headers, post_batch
from crawleruseragents import CRAWLER_USER_AGENTS_DATA, is_crawler
from factories import batch, pv
from sqlalchemy import select

from resonance.core.clock import local_time, zone
from resonance.core.models import BotHit, PageView, Site
from tracker.bots import Patterns, is_bot, literal_forms, prefix_tree_pattern
from tracker.sites import SiteInvalid, check_settings, create_site

ROOT = Path(__file__).resolve().parents[1]

# --- time zones without /usr/share/zoneinfo -----------------------------------

_ZONES_SCRIPT = """
import json, zoneinfo
from datetime import datetime
from resonance.core.clock import local_time, zone
from tracker.sites import SiteInvalid, check_settings

try:
    check_settings(timezone="Mars/Base")
    refused = None
except SiteInvalid as exc:
    refused = exc.errors
moment = datetime(2026, 7, 1, 12, 0)
print(json.dumps({
    "tzpath": list(zoneinfo.TZPATH),
    "paris": check_settings(timezone="Europe/Paris"),
    "refused": refused,
    "utc": str(zone("UTC")),
    "paris_time": local_time(moment, "Europe/Paris"),
    "fallbacks": [local_time(moment, name) for name in ("Nowhere/Else", "Europe", "")],
}))
"""


def test_time_zones_work_from_tzdata_without_system_zone_data(tmp_path):
    empty = tmp_path / "no-zoneinfo"
    empty.mkdir()
    env = {**os.environ, "PYTHONTZPATH": str(empty), "PYTHONPATH": str(ROOT)}

    done = subprocess.run(
        [sys.executable, "-c", _ZONES_SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["tzpath"] == [str(empty)]
    assert seen["paris"] == {"timezone": "Europe/Paris"}
    assert seen["refused"] == {
        "timezone": "'Mars/Base' is not an IANA time zone like Europe/Paris"
    }
    assert seen["utc"] == "UTC"
    assert seen["paris_time"] == "2026-07-01 14:00:00 CEST"
    assert seen["fallbacks"] == ["2026-07-01 12:00:00 UTC"] * 3


@pytest.mark.parametrize(
    "name",
    [None, "", "Mars/Base", "Europe", "Etc", "a" * 5000, "../etc/passwd", "/etc/x"],
)
def test_a_zone_nobody_knows_falls_back_to_utc_without_raising(name):
    assert zone(name).utcoffset(None).total_seconds() == 0
    assert local_time(datetime(2026, 1, 15, 12, 0), name).endswith(" UTC")


# --- allowed origins and internal domains in the form browsers send ------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("https://BÜCHER.de", "https://xn--bcher-kva.de"),
        ("https://bücher.de/", "https://xn--bcher-kva.de"),
        ("https://faß.de", "https://xn--fa-hia.de"),
        ("https://xn--bcher-kva.de", "https://xn--bcher-kva.de"),
        ("https://XN--BCHER-KVA.DE", "https://xn--bcher-kva.de"),
        ("https://Docs.EXAMPLE.com", "https://docs.example.com"),
        ("https://bücher.de:8443", "https://xn--bcher-kva.de:8443"),
        ("https://例え.テスト", "https://xn--r8jz45g.xn--zckzah"),
        ("http://my_app:8000", "http://my_app:8000"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_origins_are_stored_as_browsers_send_them(typed, stored):
    assert check_settings(origins=[typed]) == {"allowed_origins": [stored]}


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("https://exa mple.com", "is not an origin: bad host name"),
        ("https://" + "a" * 64 + ".com", "is over 63 characters"),
        ("https://-bad-.com", "'-bad-' starts or ends with -"),
        ("https://xn--zz.de", "'xn--zz' is not punycode"),
        ("https://a..b.com", "an empty label"),
        ("https://bücher\u200d.de", "bad host name"),
    ],
)
def test_origins_with_impossible_hosts_are_refused_with_a_reason(typed, message):
    with pytest.raises(SiteInvalid) as refused:
        check_settings(origins=[typed])

    assert refused.value.errors["origins"].startswith(f"{typed!r} is not an origin")
    assert message in refused.value.errors["origins"]


def test_internal_domains_are_stored_in_the_same_ascii_form():
    values = check_settings(internal_domains=["@Bücher.de", "faß.de", "xn--fa-hia.de"])

    assert values == {"internal_domains": ["xn--bcher-kva.de", "xn--fa-hia.de"]}
    with pytest.raises(SiteInvalid, match="is not a domain like example.com"):
        check_settings(internal_domains=["-bad-.com"])


def test_a_beacon_from_a_non_ascii_origin_is_accepted(client, session):
    create_site(session, "Bücher", origins=["https://BÜCHER.de"], key="buch")
    session.commit()

    response = post_batch(
        client,
        batch(pv(url="https://xn--bcher-kva.de/neu"), s="buch"),
        origin="https://xn--bcher-kva.de",
    )

    assert response.status_code == 204, response.get_data(as_text=True)
    view = session.scalars(select(PageView)).one()
    assert view.url == "https://xn--bcher-kva.de/neu"


def test_the_sites_page_refuses_an_impossible_host_as_a_field_error(client, session):
    form = {
        "name": "Shop",
        "key": "",
        "origins": "https://exa mple.com",
        "privacy_mode": "anonymous",
        "reached_sales_stage": "sql",
        "timezone": "Europe/Paris",
        "internal_domains": "",
    }

    response = client.post("/dash/sites/new", data=form, headers=csrf_headers(client))

    assert response.status_code == 400
    assert "is not an origin: bad host name" in response.get_data(as_text=True)
    assert count(session, Site) == 0


# --- bots from the crawler-user-agents list -------------------------------------

BROWSERS = [
    # Chrome: Windows, macOS, Linux, Android, iOS
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/139.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/139.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/139.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/139.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) CriOS/139.0.7258.76 Mobile/15E148 Safari/604.1",
    # Firefox: Windows, macOS, Linux, Android, iOS
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:142.0) Gecko/20100101 Firefox/142.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:142.0) Gecko/20100101 "
    "Firefox/142.0",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:142.0) Gecko/20100101 Firefox/142.0",
    "Mozilla/5.0 (Android 15; Mobile; rv:142.0) Gecko/142.0 Firefox/142.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) FxiOS/142.0 Mobile/15E148 Safari/605.1.15",
    # Safari: macOS, iPhone, iPad
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.6 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.6 Mobile/15E148 Safari/604.1",
    # Edge: Windows, Android; Samsung Internet; Opera
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/139.0.0.0 Safari/537.36 Edg/139.0.0.0",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/139.0.0.0 Mobile Safari/537.36 EdgA/139.0.0.0",
    "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like "
    "Gecko) SamsungBrowser/28.0 Chrome/130.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/139.0.0.0 Safari/537.36 OPR/124.0.0.0",
    # A phone whose maker's name ends in "bot"
    "Mozilla/5.0 (Linux; Android 9; CUBOT P30) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/139.0.0.0 Mobile Safari/537.36",
]

# Robots that run JavaScript, so their beacons do arrive: the list's own examples.
JAVASCRIPT_ROBOTS = {
    "Datadog Synthetic": "Datadog Synthetic",
    "NewRelicSynthetics": "NewRelicSynthetics",
    "GoogleOther": "GoogleOther",
    "Google-InspectionTool": "Google-InspectionTool",
    "Siteimprove": r"Siteimprove\.com",
    "PTST": r"(^| )PTST\/",
}

UNLISTED = [
    "Java/17.0.9",
    "undici",
    "node",
    "Deno/2.1.4",
    "PostmanRuntime/7.43.0",
    "FeedFetcher-Google; (+http://www.google.com/feedfetcher.html)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Cypress/13.6.3 Chrome/114.0.5735.289 Electron/25.8.4 Safari/537.36",
    "Mozilla/5.0 (compatible; BrandNewBot/0.1; +https://example.com/bot)",
    "tinycrawler 1.0",
]


def _instances() -> list[str]:
    return [ua for crawler in CRAWLER_USER_AGENTS_DATA for ua in crawler["instances"]]


def test_every_example_of_the_crawler_list_is_a_bot():
    missed = [ua for ua in _instances() if not is_bot(ua)]

    assert len(_instances()) > 2000
    assert missed == []


@pytest.mark.parametrize("name", JAVASCRIPT_ROBOTS)
def test_robots_that_run_javascript_are_bots(name):
    (crawler,) = [
        crawler
        for crawler in CRAWLER_USER_AGENTS_DATA
        if crawler["pattern"] == JAVASCRIPT_ROBOTS[name]
    ]

    assert crawler["instances"]
    assert all(is_bot(ua) for ua in crawler["instances"])


@pytest.mark.parametrize("user_agent", BROWSERS)
def test_browsers_are_not_bots(user_agent):
    assert not is_bot(user_agent)


@pytest.mark.parametrize("user_agent", UNLISTED)
def test_clients_and_self_named_robots_the_list_lacks_are_bots(user_agent):
    assert not is_crawler(user_agent)
    assert is_bot(user_agent)


def test_an_empty_user_agent_is_a_bot():
    assert is_bot("") and is_bot(None)


def test_the_compiled_list_agrees_with_the_packages_own_matcher():
    listed = Patterns([crawler["pattern"] for crawler in CRAWLER_USER_AGENTS_DATA])
    headless = BROWSERS[2].replace("Chrome/", "HeadlessChrome/")

    for ua in [*_instances(), *BROWSERS, headless, "", "curl/8.5.0"]:
        assert listed.search(ua) == is_crawler(ua), ua


@pytest.mark.parametrize(
    ("pattern", "forms"),
    [
        ("Googlebot\\/", ["Googlebot/"]),
        ("[wW]get", ["wget", "Wget"]),
        (
            "(sistrix|SISTRIX) [cC]rawler",
            [
                "sistrix crawler",
                "sistrix Crawler",
                "SISTRIX crawler",
                "SISTRIX Crawler",
            ],
        ),
        ("Automaton|Newsify Feed Fetcher", ["Automaton", "Newsify Feed Fetcher"]),
        ("^curl", None),
        ("BlogTraffic\\/\\d\\.\\d+ Feed-Fetcher", None),
        ("AdsBot-Google([^-]|$)", None),
        ("Spider[\\s\\S]*spider\\.com", None),
        ("SSL Labs$", None),
        ("a|", None),
    ],
)
def test_only_patterns_of_fixed_strings_are_spelled_out(pattern, forms):
    assert literal_forms(pattern) == forms


def test_a_prefix_tree_finds_every_word_and_nothing_else():
    tree = re.compile(prefix_tree_pattern(["abc", "abd", "ab", "x.y", "b"]))

    assert [bool(tree.search(t)) for t in ("zab", "xzy", "x.y", "cb", "aXc")] == [
        True,
        False,
        True,
        True,
        False,
    ]


def test_a_bot_beacon_is_filed_apart_and_a_browsers_is_not(client, session, site):
    robot = JAVASCRIPT_ROBOTS["NewRelicSynthetics"]
    (crawler,) = [c for c in CRAWLER_USER_AGENTS_DATA if c["pattern"] == robot]

    post_batch(client, batch(pv()), **{"User-Agent": crawler["instances"][0]})
    post_batch(client, batch(pv(), v="visitor0002"), **{"User-Agent": BROWSERS[0]})

    assert count(session, BotHit) == 1
    assert count(session, PageView) == 1
