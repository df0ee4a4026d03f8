"""Session reports (made by ``gaitstream report serve``) served to supervisors:
``GET /v1/clinics/{clinic_id}/sessions/{session_id}/report.html`` (also ``.pdf``, ``.fhir.json``).

Scoped like every clinic route (a key of another clinic: 403). Links in dashboards and alert
e-mails are opened by a browser, which cannot send a bearer header: these routes also take the key
as the password of HTTP Basic authentication (any user name), and a request without a key is
answered with a Basic challenge so that the browser asks for it. Serve them over TLS (the reverse
proxy in front of the API), as every route.
"""

from __future__ import annotations

import base64
from pathlib import Path as FsPath
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Request, status
from fastapi.responses import FileResponse

from gaitstream.services.alerts.api.auth import SessionDep, get_principal
from gaitstream.services.alerts.store.accounts import ID_PATTERN

router = APIRouter(tags=["reports"])

MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "fhir.json": "application/fhir+json"}
ClinicPath = Annotated[str, Path(pattern=ID_PATTERN)]
SessionPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]


def _basic_password(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2] or None


def _principal(request: Request, session: SessionDep):
    """The key from a bearer or X-API-Key header, or the Basic password (a browser following a link)."""
    from fastapi.security import HTTPAuthorizationCredentials

    basic = _basic_password(request)
    bearer = HTTPAuthorizationCredentials(scheme="Bearer", credentials=basic) if basic else None
    if bearer is None and request.headers.get("authorization", "").lower().startswith("bearer "):
        bearer = HTTPAuthorizationCredentials(
            scheme="Bearer", credentials=request.headers["authorization"].split(" ", 1)[1].strip()
        )
    try:
        return get_principal(request, session, bearer, request.headers.get("x-api-key"))
    except HTTPException as exc:
        if exc.status_code == status.HTTP_401_UNAUTHORIZED:
            headers = {"WWW-Authenticate": 'Basic realm="gaitstream reports", charset="UTF-8"'}
            raise HTTPException(exc.status_code, exc.detail, headers=headers) from exc
        raise


@router.get(
    "/clinics/{clinic_id}/sessions/{session_id}/report.{kind}",
    responses={200: {"description": "The report", "content": {m.split(";")[0]: {} for m in MEDIA.values()}}},
)
def get_report(
    request: Request,
    session: SessionDep,
    clinic_id: ClinicPath,
    session_id: SessionPath,
    kind: Literal["html", "pdf", "fhir.json"],
) -> FileResponse:
    """One session's report, as made when the session stopped (404 until then)."""
    principal = _principal(request, session)
    principal.require_clinic(clinic_id)
    reports_dir: FsPath | None = request.app.state.settings.reports_dir
    path = None if reports_dir is None else reports_dir / clinic_id / f"{session_id}.{kind}"
    if path is None or not path.is_file():
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"no {kind} report of session {session_id} in clinic {clinic_id}: reports are made when a session stops",
        )
    return FileResponse(
        path,
        media_type=MEDIA[kind],
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )
