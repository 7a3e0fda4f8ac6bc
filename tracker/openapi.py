"""The OpenAPI 3.1 document of the collector (``GET``/``POST /e``) and the CRM API
(``/api``), served at ``GET /api/openapi.json``.

Owns: the document. Request bodies are generated from the very pydantic models
that validate them (:class:`tracker.beacon.Batch`, the payloads of
:mod:`tracker.api`), so the document cannot drift from what is accepted. The
answers' shapes are written here, and ``tests/test_security_openapi.py`` runs
schemathesis against a live server to check that every answer conforms.

The document is public (no token): it describes wire formats that are already
public in ``docs/``, and holds no data.
"""

from __future__ import annotations

from functools import cache

from flask import Blueprint, Response, jsonify
from pydantic.json_schema import models_json_schema

from resonance.core.models import PRIVACY_MODES
from tracker import api
from tracker.beacon import MAX_EVENTS, Batch

bp = Blueprint("openapi", __name__)

REF = "#/components/schemas/{model}"


def _ref(name: str) -> dict:
    return {"$ref": REF.format(model=name)}


def _json(schema: dict, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }


ERROR = _ref("Error")
NULLABLE_TEXT = {"type": ["string", "null"]}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

# Answers (written here; schemathesis checks the server's answers against them).
RESPONSE_SCHEMAS: dict[str, dict] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}},
    },
    "Refused": {
        "type": "object",
        "required": ["refused"],
        "properties": {
            "refused": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["i", "id", "error"],
                    "properties": {
                        "i": {"type": "integer", "minimum": 0},
                        "id": NULLABLE_TEXT,
                        "error": {"type": "string"},
                    },
                    "additionalProperties": False,
                },
            }
        },
        "additionalProperties": False,
    },
    "SiteConfig": {
        "type": "object",
        "required": ["m"],
        "properties": {"m": {"enum": list(PRIVACY_MODES)}},
        "additionalProperties": False,
    },
    "LeadRef": {
        "type": "object",
        "required": ["id", "email", "crm_id"],
        "properties": {
            "id": {"type": "integer"},
            "email": NULLABLE_TEXT,
            "crm_id": NULLABLE_TEXT,
        },
        "additionalProperties": False,
    },
    "LeadsOut": {
        "type": "object",
        "required": ["leads"],
        "properties": {"leads": {"type": "array", "items": _ref("LeadRef")}},
        "additionalProperties": False,
    },
    "StagesOut": {
        "type": "object",
        "required": ["recorded", "duplicates"],
        "properties": {
            "recorded": {"type": "integer", "minimum": 0},
            "duplicates": {"type": "integer", "minimum": 0},
        },
        "additionalProperties": False,
    },
    "StageChangeOut": {
        "type": "object",
        "required": ["stage", "stage_raw", "entered_at", "crm_event_id"],
        "properties": {
            "stage": {"type": "string"},
            "stage_raw": {"type": "string"},
            "entered_at": {"type": "string", "format": "date-time"},
            "crm_event_id": {"type": "string"},
        },
        "additionalProperties": False,
    },
    "Lead": {
        "type": "object",
        "required": [
            "id",
            "email",
            "crm_id",
            "name",
            "company",
            "company_id",
            "account",
            "owner",
            "created_at",
            "stage",
            "stage_raw",
            "reached_sales_at",
            "stages",
        ],
        "properties": {
            "id": {"type": "integer"},
            "email": NULLABLE_TEXT,
            "crm_id": NULLABLE_TEXT,
            "name": NULLABLE_TEXT,
            "company": NULLABLE_TEXT,
            "company_id": NULLABLE_TEXT,
            "account": {"anyOf": [_ref("Account"), {"type": "null"}]},
            "owner": NULLABLE_TEXT,
            "created_at": {"type": "string", "format": "date-time"},
            "stage": NULLABLE_TEXT,
            "stage_raw": NULLABLE_TEXT,
            "reached_sales_at": NULLABLE_TIME,
            "stages": {"type": "array", "items": _ref("StageChangeOut")},
        },
        "additionalProperties": False,
    },
    "Account": {
        "description": "The company the lead is grouped in: by the CRM's company"
        " id (key crm:<id>), else by the e-mail's domain (key domain:<domain>),"
        " never by a free-mail domain.",
        "type": "object",
        "required": ["id", "key", "name"],
        "properties": {
            "id": {"type": "integer"},
            "key": {"type": "string"},
            "name": {"type": "string"},
        },
        "additionalProperties": False,
    },
    "LeadOut": {
        "type": "object",
        "required": ["lead"],
        "properties": {"lead": _ref("Lead")},
        "additionalProperties": False,
    },
}


def _request_schemas() -> dict[str, dict]:
    """JSON Schemas of every request body, from the models that validate them."""
    models = (
        Batch,
        api.LeadIn,
        api.LeadsIn,
        api.StageIn,
        api.StagesIn,
        api.MergeIn,
    )
    _, schema = models_json_schema(
        [(model, "validation") for model in models], ref_template=REF
    )
    return schema["$defs"]


def _api_errors(*codes: int) -> dict:
    reasons = {
        400: "malformed JSON or a field that fails validation (the message names it)",
        401: "no, an unknown or a revoked bearer token",
        404: "no such lead",
        409: "the CRM's data contradicts itself, or a concurrent change; retry",
        413: f"body over {api.MAX_BODY_BYTES} bytes",
        503: "database unavailable; retry after Retry-After seconds",
    }
    return {str(code): _json(ERROR, reasons[code]) for code in codes}


def _api_post(
    model: str, batch: str | None, out: str, summary: str, *errors: int
) -> dict:
    body = _ref(model) if batch is None else {"oneOf": [_ref(model), _ref(batch)]}
    return {
        "post": {
            "summary": summary,
            "security": [{"bearer": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": body}},
            },
            "responses": {
                "200": _json(_ref(out), "done, in one transaction"),
                **_api_errors(*(errors or (400, 401, 409, 413, 503))),
            },
        }
    }


KEY = {
    "name": "key",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1},
}


def _lead_lookup(parameters: list[dict]) -> dict:
    return {
        "summary": "One lead by CRM id or e-mail, with its stages",
        "security": [{"bearer": []}],
        "parameters": parameters,
        "responses": {
            "200": _json(_ref("LeadOut"), "the lead"),
            **_api_errors(400, 401, 404, 503),
        },
    }


@cache
def document() -> dict:
    """The whole OpenAPI document (built once per process)."""
    collector_errors = {
        "400": "malformed batch, or no event of it valid (the message names the field)",
        "403": "the site is disabled, or the Origin is not one of its origins",
        "404": "unknown site key",
        "413": "body over RESONANCE_MAX_BEACON_BYTES",
        "429": "rate limit of the site and client address; retry after Retry-After",
        "503": "database unavailable; retry after Retry-After seconds",
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Resonance collector and CRM API",
            "version": "1",
            "description": "Beacons from the snippet (docs/beacon.md) and the CRM's "
            "leads and stages (docs/crm-api.md). Request bodies are generated from "
            "the server's own validation models.",
        },
        "paths": {
            "/e": {
                "get": {
                    "summary": "The site's privacy mode, for the snippet",
                    "parameters": [
                        {
                            "name": "s",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "minLength": 1},
                        }
                    ],
                    "responses": {
                        "200": _json(_ref("SiteConfig"), "the site's privacy mode"),
                        "400": _json(ERROR, "NUL in the query"),
                        "404": _json(ERROR, "unknown or disabled site"),
                        "429": _json(ERROR, "rate limit of the site and address"),
                    },
                },
                "post": {
                    "summary": "Store one batch of events",
                    "description": "The snippet sends the JSON as text/plain (no CORS "
                    "preflight); the body is read as JSON whatever its type. "
                    f"At most {MAX_EVENTS} events. The envelope (s, v, o, i) is "
                    "judged as a whole, each event on its own: an invalid event, "
                    "or one of a page view that is refused or was never stored, "
                    "is refused alone and the others are stored. A batch refused "
                    "whole stores nothing.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("Batch")}},
                    },
                    "responses": {
                        "204": {"description": "stored and committed"},
                        "200": _json(
                            _ref("Refused"),
                            "committed, but for the events listed: `i` is the "
                            "index in `e`, `id` its id when it had a valid one, "
                            "`error` the field and why (never send them again)",
                        ),
                        **{
                            code: _json(ERROR, reason)
                            for code, reason in collector_errors.items()
                        },
                    },
                },
            },
            "/api/leads": _api_post("LeadIn", "LeadsIn", "LeadsOut", "Upsert leads"),
            "/api/stages": _api_post(
                "StageIn", "StagesIn", "StagesOut", "Record stage changes"
            ),
            "/api/leads/merge": _api_post(
                "MergeIn",
                None,
                "LeadOut",
                "Merge lead `from` into lead `into`",
                *(400, 401, 404, 409, 413, 503),
            )
            # GET /api/leads/merge is the lookup of the lead keyed "merge".
            | {"get": _lead_lookup([])},
            "/api/leads/{key}": {"get": _lead_lookup([KEY])},
            "/api/openapi.json": {
                "get": {
                    "summary": "This document (public)",
                    "responses": {
                        "200": _json({"type": "object"}, "the OpenAPI document")
                    },
                }
            },
        },
        "components": {
            "schemas": _request_schemas() | RESPONSE_SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from `resonance token create`",
                }
            },
        },
    }


@bp.get("/api/openapi.json")
def openapi_json() -> Response:
    """The document, public and cacheable for an hour."""
    response = jsonify(document())
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response
