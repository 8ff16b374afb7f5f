"""Plain-words labels for outbox states and for the error a lead is stuck on."""

from __future__ import annotations

import json
import re

STATE_LABELS = {
    "pending": "Waiting to send",
    "in_flight": "Sending",
    "synced": "Synced",
    "retry_wait": "Retrying",
    "needs_attention": "Needs attention",
}

# Labels of the AcmeCRM fields as the lead form shows them.
_FIELD_LABELS = {
    "acme_first_name": "First name",
    "acme_last_name": "Last name",
    "acme_email": "Email",
    "acme_phone": "Phone",
    "acme_company": "Company",
    "acme_job_title": "Job title",
    "acme_linkedin": "LinkedIn",
    "acme_notes": "Notes",
    "acme_lead_rating": "Rating",
    "acme_consent_at": "Consent time",
    "acme_consent_version": "Consent version",
    "acme_badge_id": "Badge id",
    "acme_event": "Event",
    "acme_qualifiers": "Answers",
}

_HTTP_STATUS = re.compile(r"\b(?:HTTP|status)\s*(\d{3})\b", re.IGNORECASE)


def state_label(state: str | None) -> str:
    """Return the operator-facing name of an outbox state."""
    if not state:
        return "Not queued"
    return STATE_LABELS.get(state, state)


def plain_reason(state: str | None, last_error: str | None) -> str:
    """Explain in plain words why a lead is not synced yet.

    Args:
        state: the lead's latest outbox state.
        last_error: the error the sync engine recorded for that outbox row.

    Returns:
        An empty string for a synced or freshly queued lead, else one or two sentences
        that explain what went wrong and what happens next or what to do.
    """
    error = (last_error or "").strip()
    if state in (None, "", "synced", "pending", "in_flight") and not error:
        return ""
    if state == "synced":
        return ""
    text = _explain(error)
    if state == "needs_attention":
        return f"{text} Edit the lead and save it to send it again."
    if state == "retry_wait":
        return f"{text} The kiosk retries on its own."
    return text


def _explain(error: str) -> str:
    lowered = error.lower()
    if "validation_failed" in lowered or "acme_" in lowered:
        return _explain_validation(error)
    if "idempotency_key_reused" in lowered:
        return "The CRM already holds different data for this revision."
    if "invalid_token" in lowered or "401" in lowered or "403" in lowered:
        return "The CRM rejected the kiosk's credentials; check the API key."
    if "timeout" in lowered or "timed out" in lowered:
        return "The CRM did not answer in time."
    if "429" in lowered or ("rate" in lowered and "limit" in lowered):
        return "The CRM asked the kiosk to slow down."
    if "connection" in lowered or "refused" in lowered or "unreachable" in lowered:
        return "The CRM cannot be reached."
    status = _HTTP_STATUS.search(error)
    if status and status.group(1).startswith("5"):
        return f"The CRM reported a server error (HTTP {status.group(1)})."
    if not error:
        return "No reason recorded."
    return error if error.endswith(".") else f"{error}."


def _explain_validation(error: str) -> str:
    problems = _field_problems(error)
    if not problems:
        return "The CRM rejected a field of this lead."
    parts = [f"{_FIELD_LABELS.get(name, name)} {text}" for name, text in problems]
    return "The CRM rejected the lead: " + "; ".join(parts) + "."


def _field_problems(error: str) -> list[tuple[str, str]]:
    start = error.find("{")
    if start >= 0:
        try:
            data = json.loads(error[start:])
        except ValueError:
            data = None
        if isinstance(data, dict):
            errors = data.get("errors", data)
            if isinstance(errors, dict):
                return [
                    (str(field), _join_messages(messages))
                    for field, messages in errors.items()
                    if str(field).startswith("acme_")
                ]
    return [
        (match.group(1), match.group(2).strip())
        for match in re.finditer(r"(acme_\w+)\W+([^;,\]\}]+)", error)
    ]


def _join_messages(messages: object) -> str:
    if isinstance(messages, list):
        return ", ".join(str(message) for message in messages)
    return str(messages)
