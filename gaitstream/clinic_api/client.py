"""A small HTTP client of the alerts API, used by ``gaitstream alerts subscribe | list | ack |
mute``. Every non-2xx answer raises ``ApiError`` carrying the status and the server's detail."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx


class ApiError(RuntimeError):
    """The API refused (``status`` >= 400) or could not be reached (``status`` 0)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}" if status else detail)
        self.status = status
        self.detail = detail


def describe_detail(body: Any) -> str:
    """FastAPI's ``detail``: a message, or a list of field errors rendered ``field: message``."""
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, list):
        parts = []
        for error in detail:
            loc = [str(p) for p in error.get("loc", []) if p not in ("body", "query", "path")]
            parts.append(f"{'.'.join(loc) or 'body'}: {error.get('msg', error)}")
        return "; ".join(parts)
    return str(detail)


class AlertsClient:
    """Calls the API at ``base_url`` with a supervisor's key (``Authorization: Bearer``)."""

    def __init__(self, base_url: str, api_key: str, *, timeout_s: float = 10.0) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout_s, headers={"Authorization": f"Bearer {api_key}"}
        )

    def __enter__(self) -> AlertsClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise ApiError(0, f"cannot reach the alerts API at {self._http.base_url}: {error}") from error
        if response.status_code >= 400:
            try:
                detail = describe_detail(response.json())
            except ValueError:
                detail = response.text.strip() or response.reason_phrase
            raise ApiError(response.status_code, detail)
        return None if response.status_code == 204 else response.json()

    def subscribe(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/v1/subscriptions", json=body)

    def unsubscribe(self, subscription_id: int) -> None:
        self.request("DELETE", f"/v1/subscriptions/{subscription_id}")

    def subscriptions(self, clinic_id: str | None = None) -> list[dict[str, Any]]:
        return self.request("GET", "/v1/subscriptions", params=_params(clinic_id=clinic_id))

    def alerts(self, **filters: Any) -> list[dict[str, Any]]:
        return self.request("GET", "/v1/alerts", params=_params(**filters))

    def acknowledge(self, alert_id: str) -> dict[str, Any]:
        return self.request("POST", f"/v1/alerts/{quote(alert_id, safe=':/')}/ack")

    def mute(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/v1/mutes", json=body)

    def mutes(self, clinic_id: str | None = None) -> list[dict[str, Any]]:
        return self.request("GET", "/v1/mutes", params=_params(clinic_id=clinic_id))

    def unmute(self, mute_id: int) -> None:
        self.request("DELETE", f"/v1/mutes/{mute_id}")

    # --- programmes ----------------------------------------------------------------------------

    def set_programme(self, clinic_id: str, patient_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Save a patient's programme: the new revision."""
        return self.request("PUT", _programme_path(clinic_id, patient_id), json=body)

    def programme(self, clinic_id: str, patient_id: str) -> dict[str, Any]:
        return self.request("GET", _programme_path(clinic_id, patient_id))

    def programme_history(self, clinic_id: str, patient_id: str) -> list[dict[str, Any]]:
        return self.request("GET", f"{_programme_path(clinic_id, patient_id)}/history")

    def programmes(self, clinic_id: str) -> list[dict[str, Any]]:
        return self.request("GET", f"/v1/clinics/{quote(clinic_id, safe='')}/programmes")

    def suggestion(self, clinic_id: str, patient_id: str) -> dict[str, Any]:
        return self.request("GET", f"{_programme_path(clinic_id, patient_id)}/suggestion")

    def accept_suggestion(self, clinic_id: str, patient_id: str, session_id: str) -> dict[str, Any]:
        return self.request(
            "POST", f"{_programme_path(clinic_id, patient_id)}/suggestion/accept", json={"session_id": session_id}
        )


def _programme_path(clinic_id: str, patient_id: str) -> str:
    return f"/v1/clinics/{quote(clinic_id, safe='')}/patients/{quote(patient_id, safe='')}/programme"


def _params(**values: Any) -> dict[str, Any]:
    return {key: (str(v).lower() if isinstance(v, bool) else v) for key, v in values.items() if v is not None}
