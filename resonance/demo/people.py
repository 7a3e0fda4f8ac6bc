"""The people behind identified visitors: e-mail addresses at made-up companies.

Companies are on the reserved ``.example`` domain (RFC 2606), so generated leads
can never be e-mailed by a CRM integration by mistake; the contact form and the
demo's CRM side (``crm.py``) read names and companies back from these addresses.
"""

from __future__ import annotations

import random

COMPANIES = (
    "Harborline", "Quillmark", "Fernhollow", "Brightwater Labs", "Copperleaf",
    "Northgate Freight", "Silverpine Health", "Bluefjord", "Tessellate",
    "Marigold Foods", "Ironbark Systems", "Lumen Grove", "Cobaltway", "Driftwood Data",
    "Kestrel Analytics", "Orchard Lane", "Pinecrest Insurance", "Redwing Logistics",
    "Saltmarsh Media", "Thistle Bank", "Umbra Security", "Vantage Peak", "Willowmere",
    "Yarrow Labs", "Zephyr Cloud", "Amberfield", "Beacon Ridge", "Cinder & Co",
    "Dovetail Works", "Eastwind Energy", "Foxglove Retail", "Granite Arc",
    "Hollowbrook", "Indigo Harbor", "Juniper Legal", "Kinfolk Travel", "Larkspur HR",
    "Meadowlark Edu", "Nettlefield", "Oakhaven Capital", "Parallax Robotics",
    "Quarry Hill", "Rivermint", "Sable Systems", "Tidewater Ports", "Upland Outdoor",
    "Vellum Print", "Wrenfield Pharma", "Xylo Audio", "Yellowtail Games",
    "Zinnia Home", "Alder & Finch", "Bramble Tech", "Crestline Mfg", "Duskfall Studios",
    "Ember Analytics", "Flintlock Safety", "Glasswing Apps", "Heron Point", "Ivystone",
)  # fmt: skip
FIRST_NAMES = (
    "amira", "ben", "carla", "daniel", "elif", "felix", "grace", "hiro", "ines",
    "jonas", "kavya", "liam", "maya", "nikolai", "olivia", "pedro", "quinn", "rosa",
    "samir", "tara", "uma", "victor", "wen", "ximena", "yusuf", "zoe", "anna", "chen",
    "david", "emma", "farah", "george", "hannah", "ivan", "julia", "kofi", "lucia",
    "marcus", "nadia", "oscar", "priya", "rafael", "sofia", "thomas",
)  # fmt: skip
LAST_NAMES = (
    "castellanos", "whitfield", "okafor", "lindqvist", "raman", "nguyen", "schmidt",
    "rossi", "kowalski", "haddad", "tanaka", "oconnor", "mbeki", "johansson", "silva",
    "dubois", "patel", "murphy", "novak", "alvarez", "fischer", "kim", "larsen",
    "moreau", "ibrahim", "walsh", "costa", "bauer", "yilmaz", "hughes", "park",
    "mendes", "fraser", "ito", "varga", "becker", "adeyemi", "quinn", "horvat",
)  # fmt: skip


def company_domain(company: str) -> str:
    """``Cinder & Co`` → ``cinder-co.example``."""
    slug = "".join(ch for ch in company.lower() if ch.isalnum() or ch == " ")
    return "-".join(slug.split()) + ".example"


def make_emails(rng: random.Random, count: int) -> list[str]:
    """Distinct ``first.last@company.example`` addresses over ~60 companies.

    Companies are drawn with Zipf-like weights, so a few accounts have several
    readers: that is what account-level sales views are about.
    """
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(COMPANIES))]
    emails: list[str] = []
    seen: set[str] = set()
    while len(emails) < count + 2:  # two spare for the shared browser
        company = rng.choices(COMPANIES, weights)[0]
        local = f"{rng.choice(FIRST_NAMES)}.{rng.choice(LAST_NAMES)}"
        email = f"{local}@{company_domain(company)}"
        if email not in seen:
            seen.add(email)
            emails.append(email)
    return emails


def person_of(email: str) -> tuple[str, str]:
    """The name and company of a generated address, as the person would type
    them: ``amira.okafor@cinder-co.example`` → ``("Amira Okafor", "Cinder Co")``."""
    local, _, domain = email.partition("@")
    name = " ".join(part.capitalize() for part in local.replace("_", ".").split("."))
    company = " ".join(w.capitalize() for w in domain.split(".")[0].split("-"))
    return name, company
