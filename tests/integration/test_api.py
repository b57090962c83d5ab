"""The REST API contract: auth and roles, listing from indexes, idempotency, bad input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto.dynamodb.models import DynamoDBBackend
from switchyard.services.deps import Deps

from tests.integration.conftest import Api


@pytest.fixture
def no_scans(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail loudly if anything scans a table: lists are served from indexes."""
    scans: list[str] = []
    original = DynamoDBBackend.scan

    def scan(self: DynamoDBBackend, table_name: str, *args: object, **kwargs: object) -> object:
        scans.append(table_name)
        return original(self, table_name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(DynamoDBBackend, "scan", scan)
    yield scans


# --- auth ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/workflows"),
        ("POST", "/api/workflows"),
        ("GET", "/api/workflows/x"),
        ("POST", "/api/workflows/x/stop"),
        ("GET", "/api/workflows/x/resolutions"),
        ("POST", "/api/workflows/x/resolve"),
        ("GET", "/openapi.json"),
    ],
)
def test_every_route_needs_a_bearer_token(api: Api, method: str, path: str) -> None:
    anonymous = api.as_("")
    reply = anonymous.call(method, path)
    assert reply.status == 401
    assert reply.body["error"]["code"] == "unauthorized"
    wrong = api.as_("not-a-token").call(method, path)
    assert wrong.status == 401
    assert "not valid" in wrong.body["error"]["message"]


def test_audience_only_users_have_no_access_to_workflows(api: Api, tokens: dict[str, str]) -> None:
    audience = api.as_(tokens["audience_only"])
    for reply in (
        audience.get("/api/workflows"),
        audience.post("/api/workflows", {"type": "courier_group", "name": "crm_web"}),
    ):
        assert reply.status == 403
        assert "no access to workflows" in reply.body["error"]["message"]


def test_users_start_and_see_runs_but_operators_stop_them(api: Api, tokens: dict[str, str]) -> None:
    user = api.as_(tokens["user"])
    started = user.post("/api/workflows", {"type": "courier_group", "name": "crm_web"})
    assert started.status == 201
    assert started.body["started_by"] == "user-person"
    assert user.get(f"/api/workflows/{started.body['id']}").status == 200
    refused = user.post(f"/api/workflows/{started.body['id']}/stop")
    assert refused.status == 403
    api.wait(started.body["id"], "succeeded")


# --- listing -------------------------------------------------------------------------------------


def test_list_filters_search_sort_and_pages_from_indexes(
    api: Api, tokens: dict[str, str], no_scans: list[str]
) -> None:
    admin = api.as_(tokens["administrator"])
    ok = [api.start("crm_web")["id"] for _ in range(3)]
    failed = api.start("daily")["id"]
    mine = admin.post("/api/workflows", {"type": "courier_group", "name": "crm_web"}).body["id"]
    for wid in [*ok, mine]:
        api.wait(wid, "succeeded")
    api.wait_waiting(failed)

    # status filter
    failed_items = api.get("/api/workflows?status=failed&limit=200").body["items"]
    assert failed in [w["id"] for w in failed_items]
    assert {w["status"] for w in failed_items} == {"failed"}
    # type + started_by combine
    by_admin = api.get("/api/workflows?type=courier_group&started_by=administrator-person").body["items"]
    assert mine in [w["id"] for w in by_admin]
    assert {(w["type"], w["started_by"]) for w in by_admin} == {("courier_group", "administrator-person")}
    assert not {*ok, failed} & {w["id"] for w in by_admin}
    # search matches names and statuses ("failed")
    assert failed in [w["id"] for w in api.get("/api/workflows?q=failed&limit=200").body["items"]]
    named = api.get("/api/workflows?q=CRM_W&limit=200").body["items"]
    assert set(ok) <= {w["id"] for w in named} and failed not in {w["id"] for w in named}
    # newest first by default; order=asc reverses
    newest = api.get("/api/workflows?limit=200").body["items"]
    starts = [w["started_at"] for w in newest]
    assert starts == sorted(starts, reverse=True)
    # (other tests' runs may start meanwhile: the lists are compared on the runs listed first)
    listed = {w["id"] for w in newest}
    assert {*ok, failed, mine} <= listed
    oldest = api.get("/api/workflows?limit=200&order=asc").body["items"]
    assert [w["id"] for w in oldest if w["id"] in listed] == [w["id"] for w in reversed(newest)]
    # sort by name
    by_name = [w["name"] for w in api.get("/api/workflows?sort=name&order=asc&limit=200").body["items"]]
    assert by_name == sorted(by_name, key=str.lower)  # case does not split the list
    # paging with a cursor walks every run once
    seen: list[str] = []
    cursor = None
    while True:
        page = api.get("/api/workflows?limit=2" + (f"&cursor={cursor}" if cursor else "")).body
        assert len(page["items"]) <= 2
        seen += [w["id"] for w in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen))  # once each
    assert [wid for wid in seen if wid in listed] == [w["id"] for w in newest]
    assert no_scans == []
    api.post(f"/api/workflows/{failed}/stop")


# --- idempotency --------------------------------------------------------------------------------


def test_an_idempotency_key_starts_one_run(api: Api) -> None:
    body = {"type": "courier_group", "name": "crm_web"}
    first = api.post("/api/workflows", body, headers={"Idempotency-Key": "nightly-2026-12-05"})
    again = api.post("/api/workflows", body, headers={"Idempotency-Key": "nightly-2026-12-05"})
    assert first.status == 201
    assert again.status == 200
    assert again.body["id"] == first.body["id"]
    other = api.post(
        "/api/workflows", {**body, "name": "daily"}, headers={"Idempotency-Key": "nightly-2026-12-05"}
    )
    assert other.status == 409
    assert other.body["error"]["code"] == "idempotency_key_reused"
    api.wait(first.body["id"], "succeeded")


# --- bad input ----------------------------------------------------------------------------------


def _count(api: Api) -> int:
    return len(api.get("/api/workflows?limit=200").body["items"])


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "malformed_json"),
        ({"type": "teleport", "name": "x"}, 400, "unknown_workflow_type"),
        ({"name": "crm_web"}, 400, "invalid_request"),
        ({"type": "courier_group", "name": "crm_web", "colour": "red"}, 400, "invalid_request"),
        ({"type": "courier_group", "name": "nightly"}, 422, "configuration_missing"),
        ({"type": "courier_group", "name": "x", "config": {"couriers": "crm"}}, 400, "invalid_run_config"),
        ({"type": "courier_group", "name": "crm_web", "mode": "dry"}, 400, "invalid_request"),
    ],
)
def test_bad_start_requests_are_4xx_and_write_nothing(api: Api, body: object, status: int, code: str) -> None:
    before = _count(api)
    reply = api.post("/api/workflows", body)
    assert reply.status == status, reply.body
    assert reply.body["error"]["code"] == code
    assert reply.body["error"]["message"]
    assert "Traceback" not in str(reply.body)
    assert _count(api) == before


def test_a_body_that_is_not_json_content_is_refused(api: Api) -> None:
    reply = api.call(
        "POST",
        "/api/workflows",
        b"type=courier_group",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status == 415
    assert "application/json" in reply.body["error"]["message"]


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/workflows?cursor=not-a-cursor", 400, "bad_cursor"),
        ("/api/workflows?cursor=eyJ4IjogMX0", 400, "bad_cursor"),
        ("/api/workflows?limit=0", 400, "invalid_request"),
        ("/api/workflows?status=exploded", 400, "invalid_filter"),
        ("/api/workflows?sort=colour", 400, "invalid_request"),
        ("/api/workflows/00000000-0000-0000-0000-000000000000", 404, "workflow_not_found"),
        ("/api/workflows/00000000-0000-0000-0000-000000000000/resolutions", 404, "workflow_not_found"),
        ("/api/nothing-here", 404, "route_not_found"),
    ],
)
def test_bad_reads_are_4xx_with_a_message(api: Api, path: str, status: int, code: str) -> None:
    reply = api.get(path)
    assert reply.status == status, reply.body
    assert reply.body["error"]["code"] == code
    assert set(reply.body["error"]) == {"code", "message", "details"}


def test_stop_or_resolve_of_an_unknown_run_is_404(api: Api) -> None:
    assert api.post("/api/workflows/nope/stop").status == 404
    assert api.post("/api/workflows/nope/resolve", {"resolution": "skip_task"}).status == 404


def test_resolving_a_run_that_did_not_fail_is_409(api: Api) -> None:
    run = api.wait(api.start("crm_web")["id"], "succeeded")
    reply = api.post(f"/api/workflows/{run['id']}/resolve", {"resolution": "skip_task"})
    assert reply.status == 409
    assert reply.body["error"]["code"] == "resolution_not_offered"


def test_openapi_describes_every_route(api: Api) -> None:
    doc = api.get("/openapi.json").body
    paths = doc["paths"]
    assert {"get", "post"} <= set(paths["/api/workflows"])
    for p in (
        "/api/workflows/{workflow_id}",
        "/api/workflows/{workflow_id}/stop",
        "/api/workflows/{workflow_id}/resolutions",
        "/api/workflows/{workflow_id}/resolve",
    ):
        assert p in paths
    assert "StartWorkflow" in doc["components"]["schemas"]


def test_blob_store_contract(deps: Deps) -> None:
    """The in-memory fake used by unit tests behaves like the S3 adapter."""
    from tests.fakes import MemoryBlobStore

    for store, bucket in (
        (deps.blobs, deps.settings.data_bucket),
        (MemoryBlobStore(), deps.settings.data_bucket),
    ):
        store.put(bucket, "contract/a/1.csv", b"one")
        store.put(bucket, "contract/a/2.csv", b"two")
        store.put(bucket, "contract/b/3.csv", b"three")
        assert store.list(bucket, "contract/a/") == ["contract/a/1.csv", "contract/a/2.csv"]
        assert store.get(bucket, "contract/a/2.csv") == b"two"
        assert store.get(bucket, "contract/none") is None
        store.delete(bucket, "contract/a/1.csv")
        store.delete(bucket, "contract/never-written")
        assert store.list(bucket, "contract/a/") == ["contract/a/2.csv"]
