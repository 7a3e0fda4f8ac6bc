"""The CRM-side JSON API under ``/api``: leads, stage changes, merges.

Owns: bytes in, JSON out for the CRM. Every route needs ``Authorization: Bearer
<token>``; the token's site scopes every read and write, so a token of one site
can never see or touch another's leads. Payloads are validated strictly (pydantic,
unknown keys refused) before anything is written; a request is one transaction,
so one bad item in a batch stores nothing. Bad input is always a 4xx naming the
field, never a 500. ``docs/crm-api.md`` documents every route.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Annotated, Any

import pydantic_core
from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from sqlalchemy.exc import IntegrityError, OperationalError

from resonance.core.clock import naive_utc
from resonance.core.db import get_session
from resonance.core.models import Account, Lead
from resonance.core.sizes import EMAIL_LEN
from tracker import crm
from tracker.tokens import authenticate

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_BODY_BYTES = 1024 * 1024
MAX_ITEMS = 1000


# --- payloads -------------------------------------------------------------------


def _text(max_length: int, min_length: int = 1):
    return Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=min_length, max_length=max_length
        ),
    ]


def _utc(moment: datetime) -> datetime:
    # Bounded first: converting year 9999 with a negative offset would overflow.
    if not 1970 <= moment.year <= 2100:
        raise ValueError("must be between 1970 and 2100")
    return naive_utc(moment)


Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        max_length=EMAIL_LEN,
        pattern=crm.EMAIL_PATTERN,
    ),
]
CrmId = _text(crm.CRM_ID_LEN)
EventId = _text(crm.EVENT_ID_LEN)
StageName = _text(crm.STAGE_RAW_LEN)
Field200 = _text(crm.FIELD_LEN, min_length=0)
# A CRM id or an e-mail address, naming a lead.
LeadKey = _text(EMAIL_LEN)
UtcTime = Annotated[AwareDatetime, AfterValidator(_utc)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Keyed(_Strict):
    email: Email | None = None
    crm_id: CrmId | None = None

    @model_validator(mode="after")
    def _needs_a_key(self):
        if self.email is None and self.crm_id is None:
            raise ValueError("email or crm_id is required")
        return self


class LeadIn(_Keyed):
    """One lead as the CRM knows it."""

    name: Field200 | None = None
    # The company's name, and its id in the CRM: leads of one company id form
    # one account (without one, the e-mail's domain groups them).
    company: Field200 | None = None
    company_id: CrmId | None = None
    owner: Field200 | None = None


class LeadsIn(_Strict):
    leads: Annotated[list[LeadIn], Field(min_length=1, max_length=MAX_ITEMS)]


class StageIn(_Keyed):
    """A lead entering a lifecycle stage, once per CRM event id."""

    crm_event_id: EventId
    stage: StageName
    entered_at: UtcTime


class StagesIn(_Strict):
    stages: Annotated[list[StageIn], Field(min_length=1, max_length=MAX_ITEMS)]


class MergeIn(_Strict):
    """The CRM merged the contact ``from`` into ``into``."""

    from_: LeadKey = Field(alias="from")
    into: LeadKey


class ApiError(Exception):
    """A refused request: ``status`` is the 4xx to answer, ``message`` says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --- request plumbing -----------------------------------------------------------


def _error(status: int, message: str) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    return response


def _unauthorized(message: str) -> Response:
    response = _error(401, message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="resonance"'
    return response


def api_route(rule: str, **options) -> Callable:
    """A route that authenticates, runs in one transaction and maps errors.

    The view gets the token's site id; it raises :class:`ApiError` for a 4xx.
    Anything refused rolls the whole request back.
    """

    def decorate(view: Callable[..., Any]) -> Callable[..., Response]:
        @bp.route(rule, **options)
        @wraps(view)
        def wrapper(**kwargs) -> Response:
            session = get_session()
            header = request.headers.get("Authorization")
            if not header:
                return _unauthorized("an Authorization: Bearer header is needed")
            token = authenticate(session, header, naive_utc())
            if token is None:
                session.rollback()
                return _unauthorized("unknown or revoked token")
            try:
                result = view(token.site_id, **kwargs)
                session.commit()
            except ApiError as exc:
                session.rollback()
                return _error(exc.status, exc.message)
            except crm.LeadConflict as exc:
                session.rollback()
                return _error(409, str(exc))
            except IntegrityError:
                session.rollback()
                return _error(409, "a concurrent request changed these leads; retry")
            except OperationalError:
                session.rollback()
                current_app.logger.exception("database unavailable")
                response = _error(503, "database unavailable, retry later")
                response.headers["Retry-After"] = "5"
                return response
            return jsonify(result)

        return wrapper

    return decorate


def _body() -> bytes:
    """The request body, refused over the limit before it is read."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise ApiError(413, f"body over {MAX_BODY_BYTES} bytes")
    body = request.stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, f"body over {MAX_BODY_BYTES} bytes")
    # PostgreSQL cannot store NUL in text, and no CRM sends one.
    if b"\\u0000" in body:
        raise ApiError(400, "strings must not contain NUL characters")
    return body


def _parse(body: bytes, single: type[BaseModel], batch: type[BaseModel], key: str):
    """The items of a body holding one object or ``{key: [objects]}``."""
    try:
        shape = pydantic_core.from_json(body, allow_inf_nan=False)
    except ValueError as exc:
        raise ApiError(400, f"malformed JSON: {exc}") from None
    is_batch = isinstance(shape, dict) and key in shape
    model = batch if is_batch else single
    try:
        parsed = model.model_validate_json(body)
    except ValidationError as exc:
        raise ApiError(400, _describe(exc)) from None
    return list(getattr(parsed, key)) if is_batch else [parsed]


def _describe(exc: ValidationError) -> str:
    """The first validation error as ``leads[3].email: String should …``."""
    error = exc.errors(include_url=False)[0]
    path = ""
    for part in error["loc"]:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    message = error["msg"]
    if error["type"] == "string_pattern_mismatch" and path.endswith("email"):
        message = "not an e-mail address"
    elif error["type"] == "model_type":
        message = "must be a JSON object"
    elif error["type"] == "value_error":
        message = str(error["ctx"]["error"])
    return f"{path}: {message}" if path else message


def _item(index: int, count: int, key: str) -> str:
    return f"{key}[{index}]: " if count > 1 else ""


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment else None


# --- routes ---------------------------------------------------------------------


@api_route("/leads", methods=["POST"])
def post_leads(site_id: int) -> dict:
    """Create or update leads; their ids in the order sent."""
    items = _parse(_body(), LeadIn, LeadsIn, "leads")
    session, now, out = get_session(), naive_utc(), []
    for index, item in enumerate(items):
        try:
            lead = crm.upsert_lead(
                session,
                site_id,
                email=item.email,
                crm_id=item.crm_id,
                name=item.name,
                company=item.company,
                company_id=item.company_id,
                owner=item.owner,
                now=now,
            ).lead
        except crm.LeadConflict as exc:
            raise ApiError(409, _item(index, len(items), "leads") + str(exc)) from None
        out.append({"id": lead.id, "email": lead.email, "crm_id": lead.crm_id})
    return {"leads": out}


@api_route("/stages", methods=["POST"])
def post_stages(site_id: int) -> dict:
    """Record stage changes; a replayed ``crm_event_id`` counts as a duplicate."""
    items = _parse(_body(), StageIn, StagesIn, "stages")
    session, now = get_session(), naive_utc()
    recorded, touched = 0, set()
    for index, item in enumerate(items):
        try:
            lead = crm.upsert_lead(
                session, site_id, email=item.email, crm_id=item.crm_id, now=now
            ).lead
        except crm.LeadConflict as exc:
            raise ApiError(409, _item(index, len(items), "stages") + str(exc)) from None
        recorded += crm.record_stage_change(
            session,
            site_id,
            lead.id,
            stage_raw=item.stage,
            entered_at=item.entered_at,
            crm_event_id=item.crm_event_id,
            now=now,
            recompute=False,
        )
        touched.add(lead.id)
    crm.recompute_stages(session, site_id, sorted(touched))
    return {"recorded": recorded, "duplicates": len(items) - recorded}


@api_route("/leads/merge", methods=["POST"])
def post_merge(site_id: int) -> dict:
    """Merge the lead ``from`` into the lead ``into`` (each a CRM id or e-mail)."""
    try:
        merge = MergeIn.model_validate_json(_body())
    except ValidationError as exc:
        raise ApiError(400, _describe(exc)) from None
    session = get_session()
    source, target = (_find(session, site_id, key) for key in (merge.from_, merge.into))
    if source.id == target.id:
        merged = crm.find_lead(session, site_id, merge.from_, follow_merges=False)
        if merged.merged_into_id is None:
            raise ApiError(400, "from and into are the same lead")
        # else: a replayed merge, already done
    else:
        crm.merge_leads(session, site_id, source.id, target.id, now=naive_utc())
    return {"lead": _lead_json(session, target)}


@api_route("/leads/<path:key>", methods=["GET"])
def get_lead(site_id: int, key: str) -> dict:
    """One lead (by CRM id or e-mail) with its stage and stage history."""
    session = get_session()
    return {"lead": _lead_json(session, _find(session, site_id, key))}


def _find(session, site_id: int, key: str) -> Lead:
    lead = crm.find_lead(session, site_id, key) if len(key) <= EMAIL_LEN else None
    if lead is None:
        raise ApiError(404, f"no lead with crm_id or email {key!r}")
    return lead


def _lead_json(session, lead: Lead) -> dict:
    session.flush()
    session.refresh(lead)
    return {
        "id": lead.id,
        "email": lead.email,
        "crm_id": lead.crm_id,
        "name": lead.name,
        "company": lead.company,
        "company_id": lead.company_crm_id,
        "account": _account_json(session, lead.account_id),
        "owner": lead.owner,
        "created_at": _iso(lead.created_at),
        "stage": lead.stage,
        "stage_raw": lead.stage_raw,
        "reached_sales_at": _iso(lead.reached_sales_at),
        "stages": [
            {
                "stage": change.stage,
                "stage_raw": change.stage_raw,
                "entered_at": _iso(change.entered_at),
                "crm_event_id": change.crm_event_id,
            }
            for change in crm.stage_history(session, lead.id)
        ],
    }


def _account_json(session, account_id: int | None) -> dict | None:
    """The lead's account: its id, what grouped it, and its name."""
    account = session.get(Account, account_id) if account_id is not None else None
    if account is None:
        return None
    return {"id": account.id, "key": account.key, "name": account.name}
