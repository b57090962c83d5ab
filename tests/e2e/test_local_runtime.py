"""What a person trying Switchyard sees: `make run`, then the API over HTTP."""

from __future__ import annotations

from tests.e2e.conftest import Local


def test_it_prints_the_console_url_and_the_admin_token(local: Local) -> None:
    text = "\n".join(local.output)
    assert f"Console:     {local.url}/console/" in text
    assert f"Admin token: {local.token}" in text  # SWITCHYARD_LOCAL_TOKEN was honoured


def test_the_demo_tenant_has_a_succeeded_run_and_a_failed_run_waiting_for_a_fix(local: Local) -> None:
    assert set(local.demo) == {"succeeded", "failed"}
    ok = local.request("GET", f"/api/workflows/{local.demo['succeeded']}").json()
    assert ok["status"] == "succeeded", ok
    failed = local.request("GET", f"/api/workflows/{local.demo['failed']}").json()
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "missing_file"


def test_start_a_run_over_http_and_watch_it_finish(local: Local) -> None:
    reply = local.request("POST", "/api/workflows", {"type": "courier_group", "name": "crm_web"})
    assert reply.status_code == 201
    done = local.wait(reply.json()["id"], "succeeded", "failed")
    assert done["status"] == "succeeded"
    assert [s["status"] for s in done["stages"]] == ["succeeded", "succeeded", "succeeded"]
    listed = local.request("GET", "/api/workflows?type=courier_group&status=succeeded").json()["items"]
    assert done["id"] in [w["id"] for w in listed]


def test_stop_a_run_over_http(local: Local) -> None:
    started = local.request("POST", "/api/workflows", {"type": "courier_group", "name": "crm_web"}).json()
    local.wait_for_task(started["id"], "running")
    reply = local.request("POST", f"/api/workflows/{started['id']}/stop")
    assert reply.status_code == 202
    done = local.wait(started["id"], "stopped")
    assert any(t["status"] == "pending" for s in done["stages"] for t in s["tasks"])


def test_resolve_the_failed_demo_run_over_http(local: Local) -> None:
    wid = local.demo["failed"]
    offered = local.request("GET", f"/api/workflows/{wid}/resolutions").json()["items"]
    assert "ignore_missing_file" in [r["id"] for r in offered]
    reply = local.request("POST", f"/api/workflows/{wid}/resolve", {"resolution": "ignore_missing_file"})
    assert reply.status_code == 202
    done = local.wait(wid, "succeeded", "failed")
    assert done["status"] == "succeeded"
    pos = next(t for s in done["stages"] for t in s["tasks"] if t["name"] == "Courier: pos")
    assert pos["status"] == "warning"


def test_errors_over_http_are_json_with_a_message(local: Local) -> None:
    reply = local.request("GET", "/api/workflows", token="wrong")
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == "unauthorized"
    bad = local.request("POST", "/api/workflows", {"type": "nope", "name": "x"})
    assert bad.status_code == 400
    assert "Unknown workflow type" in bad.json()["error"]["message"]
