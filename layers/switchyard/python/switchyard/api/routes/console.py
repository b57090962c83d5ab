"""The web console and the API routes it needs.

``/console`` and everything under it is public (``api.app.handle`` lets it through without a
token): it is static files only. The page keeps the bearer token in ``sessionStorage`` and
sends it with every API call. Any path under ``/console/`` that is not a file is an app route
(``/console/workflows/<id>``, the link in alerts), answered with ``index.html``.

Files are looked up by exact name in a listing of ``switchyard/console/static`` made once, so a
request can only ever get one of those files (no path from the request reaches the filesystem).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path as PathParam
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel

from switchyard.api.auth import ANY_ROLE, GRANTS, Permission, Role, requires
from switchyard.domain.models import Principal
from switchyard.domain.workflow_types import WORKFLOW_TYPES
from switchyard.services.deps import get_deps
from switchyard.services.graph import workflow_graph
from switchyard.services.workflows import WorkflowService

router = APIGatewayRouter()

STATIC = Path(__file__).resolve().parents[2] / "console" / "static"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
}
# The page loads its scripts and styles from its own origin only and calls only its own API.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True)
class StaticFile:
    body: str
    content_type: str
    etag: str


@lru_cache(maxsize=1)
def static_files() -> dict[str, StaticFile]:
    """``relative/path`` -> file, for every servable file in the static folder."""
    files = {}
    for path in sorted(STATIC.rglob("*")):
        ctype = CONTENT_TYPES.get(path.suffix)
        if path.is_file() and ctype:
            body = path.read_text(encoding="utf-8")
            etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:20] + '"'
            files[path.relative_to(STATIC).as_posix()] = StaticFile(body, ctype, etag)
    return files


def _prefix() -> str:
    """The stage in front of the paths on API Gateway's own host (``/prod``); nothing locally."""
    event = router.current_event
    host = event.headers.get("Host") or ""
    stage = event.request_context.stage
    return f"/{stage}" if ".execute-api." in host and stage else ""


def _serve(name: str) -> Response[str]:
    files = static_files()
    found = files.get(name)
    if found is None and (name.startswith("assets/") or "." in name.rsplit("/", 1)[-1]):
        return Response(
            status_code=404,
            content_type="text/plain; charset=utf-8",
            body=f"No console file {name!r}.",
            headers=dict(SECURITY_HEADERS),
        )
    if found is None or name == "index.html":
        index = files["index.html"]
        body = index.body.replace('<base href="/console/">', f'<base href="{_prefix()}/console/">')
        found = StaticFile(body, index.content_type, index.etag + _prefix())
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache", "ETag": found.etag}
    if router.current_event.headers.get("If-None-Match") == found.etag:
        return Response(status_code=304, content_type=found.content_type, body="", headers=headers)
    return Response(status_code=200, content_type=found.content_type, body=found.body, headers=headers)


@router.get("/", include_in_schema=False)
def root() -> Response[str]:
    return Response(
        status_code=302,
        content_type="text/plain; charset=utf-8",
        body="",
        headers={"Location": f"{_prefix()}/console/"},
    )


@router.get("/console", include_in_schema=False)
def console_index() -> Response[str]:
    return _serve("index.html")


# Powertools' ``<name>`` matches one path segment; the rest of a rule is a regular expression,
# so ``.+`` takes every depth under /console/ (the path itself is read from the event).
@router.get("/console/.*", include_in_schema=False)
def console_file() -> Response[str]:
    return _serve(router.current_event.path.removeprefix("/console/") or "index.html")


# --- API routes the console needs ----------------------------------------------------------------


def _principal() -> Principal:
    return router.context["principal"]  # type: ignore[no-any-return]


class MeOut(BaseModel):
    subject: str
    role: str
    permissions: list[str]


class WorkflowTypeOut(BaseModel):
    id: str
    title: str


class WorkflowTypeList(BaseModel):
    items: list[WorkflowTypeOut]


class GraphNode(BaseModel):
    id: str
    label: str
    stage: str
    status: str
    kind: str


class GraphEdge(BaseModel):
    source: str
    target: str


class GraphOut(BaseModel):
    nodes: list[GraphNode]
    edges: list[GraphEdge]


@router.get("/api/me", tags=["people"])
@requires(ANY_ROLE)
def me() -> MeOut:
    """Who the token belongs to and what that role may do (any valid token may ask)."""
    who = _principal()
    role = Role(who.role) if who.role in Role.__members__.values() else Role.AUDIENCE_ONLY
    return MeOut(
        subject=who.user,
        role=role.value,
        permissions=sorted(p.value for p in GRANTS[role]),
    )


@router.get("/api/workflow-types", tags=["workflows"])
@requires(Permission.READ_WORKFLOWS)
def workflow_types() -> WorkflowTypeList:
    """The workflow types this installation runs (what the console's type filter offers)."""
    deployed = get_deps().settings.state_machines
    return WorkflowTypeList(
        items=[
            WorkflowTypeOut(id=t.name, title=t.title)
            for t in sorted(WORKFLOW_TYPES.values(), key=lambda t: t.title)
            if t.name in deployed
        ]
    )


@router.get("/api/workflows/<workflow_id>/graph", tags=["workflows"])
@requires(Permission.READ_WORKFLOWS)
def graph(workflow_id: Annotated[str, PathParam(max_length=64)]) -> GraphOut:
    """Every task as a node; an edge from each task to the one that runs after it."""
    who = _principal()
    workflow = WorkflowService(get_deps()).get(who, workflow_id)
    return GraphOut.model_validate(workflow_graph(workflow))
