"""The console's files and the API routes it needs: /api/me, /api/workflow-types, the run graph, search."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
from switchyard.domain.models import Stage, Task, Workflow, WorkflowStatus
from switchyard.local.apigateway import invoke_api
from switchyard.services.deps import Deps

from tests.integration.conftest import Api


def fetch(api: Api, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    status, out, data = invoke_api(api.runtime.dispatcher, "GET", path, headers or {}, None)
    return status, {k.lower(): v for k, v in out.items()}, data.decode()


# --- the console's files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/console", "/console/", "/console/workflows", "/console/workflows/abc-123"]
)
def test_app_routes_answer_the_page_without_a_token(api: Api, path: str) -> None:
    # Given no Authorization header (an alert link opened in a new browser)
    status, headers, body = fetch(api, path)
    # Then the console page is served, so the app can ask for a token and open the run
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert '<base href="/console/">' in body
    assert 'src="assets/js/main.js"' in body
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    ("path", "ctype"),
    [
        ("/console/assets/js/main.js", "text/javascript; charset=utf-8"),
        ("/console/assets/app.css", "text/css; charset=utf-8"),
        ("/console/assets/favicon.svg", "image/svg+xml"),
    ],
)
def test_assets_have_their_content_types_and_revalidate_by_etag(api: Api, path: str, ctype: str) -> None:
    status, headers, body = fetch(api, path)
    assert status == 200 and body
    assert headers["content-type"] == ctype
    assert headers["x-content-type-options"] == "nosniff"
    again, _, empty = fetch(api, path, {"If-None-Match": headers["etag"]})
    assert again == 304 and empty == ""


@pytest.mark.parametrize(
    "path",
    [
        "/console/assets/nope.js",
        "/console/../pyproject.toml",
        "/console/assets/../../api/app.py",
        "/console/%2e%2e/%2e%2e/api/app.py",
        "/console/assets/js/../../../../routes/console.py",
    ],
)
def test_only_the_console_files_can_be_fetched(api: Api, path: str) -> None:
    status, _headers, body = fetch(api, path)
    assert status == 404
    assert "import" not in body and "def " not in body


def test_on_api_gateways_host_the_page_names_the_stage_in_its_base(api: Api) -> None:
    status, _, body = fetch(
        api, "/console/workflows/x", {"Host": "abc123.execute-api.eu-west-1.amazonaws.com"}
    )
    assert status == 200
    assert '<base href="/prod/console/">' in body


def test_the_root_redirects_to_the_console(api: Api) -> None:
    status, headers, _ = fetch(api, "/")
    assert status == 302
    assert headers["location"] == "/console/"


# --- /api/me and /api/workflow-types ----------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "permissions"),
    [
        (
            "administrator",
            [
                "manage_alerts",
                "manage_catalog",
                "manage_credentials",
                "manage_interactions",
                "manage_prioritization",
                "manage_schedules",
                "manage_settings",
                "manage_tokens",
                "operate_workflows",
                "read_workflows",
                "rollback_interactions",
                "start_workflows",
            ],
        ),
        (
            "operator",
            [
                "manage_alerts",
                "manage_credentials",
                "manage_interactions",
                "manage_schedules",
                "operate_workflows",
                "read_workflows",
                "start_workflows",
            ],
        ),
        ("user", ["read_workflows", "start_workflows"]),
        ("audience_only", []),
    ],
)
def test_me_says_who_and_what_the_role_may_do(
    api: Api, tokens: dict[str, str], role: str, permissions: list[str]
) -> None:
    reply = api.as_(tokens[role]).get("/api/me")
    assert reply.status == 200
    assert reply.body == {"subject": f"{role}-person", "role": role, "permissions": permissions}


def test_me_and_the_graph_need_a_token(api: Api) -> None:
    for path in ("/api/me", "/api/workflow-types", "/api/workflows/x/graph"):
        reply = api.as_("").get(path)
        assert reply.status == 401, path
        assert reply.body["error"]["code"] == "unauthorized"


def test_workflow_types_lists_the_deployed_types(api: Api, tokens: dict[str, str]) -> None:
    items = api.get("/api/workflow-types").body["items"]
    assert {"id": "courier_group", "title": "Courier group"} in items
    assert [i["title"] for i in items] == sorted(i["title"] for i in items)
    assert api.as_(tokens["audience_only"]).get("/api/workflow-types").status == 403


# --- the graph --------------------------------------------------------------------------------


def test_the_graph_has_every_task_in_run_order_with_its_status(api: Api, tokens: dict[str, str]) -> None:
    # Given a run that fails on the pos courier and waits
    run = api.start("daily")
    api.wait_waiting(run["id"])
    # When the graph is read
    reply = api.get(f"/api/workflows/{run['id']}/graph")
    assert reply.status == 200
    nodes, edges = reply.body["nodes"], reply.body["edges"]
    # Then every task is a node with its stage, status and kind
    workflow = api.get(f"/api/workflows/{run['id']}").body
    tasks = [(s["name"], t) for s in workflow["stages"] for t in s["tasks"]]
    assert [n["id"] for n in nodes] == [t["id"] for _, t in tasks]
    by_label = {n["label"]: n for n in nodes}
    assert by_label["Courier: crm"] == {
        "id": by_label["Courier: crm"]["id"],
        "label": "Courier: crm",
        "stage": "Sources",
        "status": "succeeded",
        "kind": "courier",
    }
    assert by_label["Courier: pos"]["status"] == "failed"
    assert by_label["Stitch"]["stage"] == "Stitch" and by_label["Stitch"]["status"] == "pending"
    # and each task leads to the one after it: through the stage, then into the next stage
    order = [n["label"] for n in nodes]
    assert order == ["Courier: crm", "Courier: pos", "Courier: web", "Stitch", "Customer 360"]
    label = {n["id"]: n["label"] for n in nodes}
    assert [(label[e["source"]], label[e["target"]]) for e in edges] == list(itertools.pairwise(order))
    # Audience-only people may not see it; an unknown run is a 404
    assert api.as_(tokens["audience_only"]).get(f"/api/workflows/{run['id']}/graph").status == 403
    missing = api.get("/api/workflows/nope/graph")
    assert missing.status == 404 and missing.body["error"]["code"] == "workflow_not_found"
    api.post(f"/api/workflows/{run['id']}/stop")


def test_openapi_describes_the_console_routes(api: Api) -> None:
    paths = api.get("/openapi.json").body["paths"]
    assert "/api/me" in paths and "/api/workflows/{workflow_id}/graph" in paths
    assert not any(p.startswith("/console") for p in paths)


# --- search: "dec" finds December runs and names with "dec" -------------------------------------


def _past_run(deps: Deps, name: str, started: datetime, status: WorkflowStatus, **kw: Any) -> Workflow:
    workflow = Workflow(
        id=f"{name}-{started:%Y%m%d}",
        type="courier_group",
        name=name,
        status=status,
        started_by="automated",
        started_at=started,
        ended_at=started,
        stages=[
            Stage(
                name="Sources",
                tasks=[Task(id="t", name="Courier: crm", kind="courier", stage="Sources", position=0)],
            )
        ],
        **kw,
    )
    deps.workflows.create(workflow)
    return workflow


def test_search_matches_december_runs_names_and_statuses(api: Api, deps: Deps) -> None:
    december = _past_run(
        deps, "weekly_crm", datetime(2025, 12, 3, 9, 0, tzinfo=UTC), WorkflowStatus.SUCCEEDED
    )
    named = _past_run(
        deps, "decommissioned_pos", datetime(2025, 6, 1, 9, 0, tzinfo=UTC), WorkflowStatus.FAILED
    )
    june = _past_run(deps, "weekly_web", datetime(2025, 6, 2, 9, 0, tzinfo=UTC), WorkflowStatus.SUCCEEDED)

    found = {w["id"] for w in api.get("/api/workflows?q=dec&limit=200").body["items"]}
    assert {december.id, named.id} <= found
    assert june.id not in found
    # "december" works too, and search combines with the filters
    assert december.id in {w["id"] for w in api.get("/api/workflows?q=December&limit=200").body["items"]}
    failed_dec = {w["id"] for w in api.get("/api/workflows?q=dec&status=failed&limit=200").body["items"]}
    assert named.id in failed_dec and december.id not in failed_dec
    # "failed" matches the status, not only names
    assert named.id in {w["id"] for w in api.get("/api/workflows?q=failed&limit=200").body["items"]}
