"""``GET /openapi.json`` says what the API does: success bodies are models, every error status is
documented with the error model and its codes, the links lead to operations that exist, and the
interaction design body is the model that checks it (its cross-field rules still answered 422
with problems by path)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from switchyard.api.contract import error_codes
from switchyard.local.runtime import LocalRuntime

from tests.integration.conftest import Api

ERROR_REF = "#/components/schemas/ErrorResponse"


@pytest.fixture(scope="module")
def document(runtime: LocalRuntime, tokens: dict[str, str]) -> dict[str, Any]:
    reply = Api(runtime, tokens["user"]).get("/openapi.json")
    assert reply.status == 200
    return reply.body  # type: ignore[no-any-return]


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), p, op) for p, ops in document["paths"].items() for m, op in ops.items()]


def test_every_success_body_is_a_model_not_a_string(document: dict[str, Any]) -> None:
    for method, path, op in operations(document):
        successes = {s: r for s, r in op["responses"].items() if s.startswith("2")}
        assert successes, (method, path)
        for status, response in successes.items():
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            if status == "204":
                # Then a 204 promises no body at all
                assert not response.get("content"), (method, path)
                continue
            assert schema is not None, (method, path, status)
            assert schema.get("type") != "string", (method, path, status)
            assert "$ref" in schema or schema.get("type") in ("object", "array"), (method, path, schema)


def test_every_route_documents_its_errors_with_the_error_model_and_its_codes(
    document: dict[str, Any],
) -> None:
    codes = error_codes()
    for method, path, op in operations(document):
        documented = {int(s) for s in op["responses"] if s[0] in "45"}
        # Then at least the statuses every authenticated route can answer
        assert {400, 401, 422} <= documented, (method, path, documented)
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            assert {409, 413, 415} <= documented, (method, path)
        if "{" in path:
            assert 404 in documented, (method, path)
        for status in documented:
            response = op["responses"][str(status)]
            # each with the error model, and the codes that status carries listed
            assert response["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}
            for code in codes[status]:
                assert f"`{code}`" in response["description"], (method, path, status, code)
    # And Powertools' own validation-error shape is not promised anywhere
    assert "HTTPValidationError" not in str(document["paths"])


def test_conflicts_and_not_founds_have_specific_codes() -> None:
    # Given the codes the document lists
    codes = error_codes()
    # Then the domain's refusals are told apart by code, not only by status
    assert {"workflow_not_running", "resolution_not_offered", "idempotency_key_reused"} <= set(codes[409])
    assert {"ran_in_production", "instance_not_paused", "already_rolled_back"} <= set(codes[409])
    assert {"route_not_found", "schedule_not_found", "workflow_not_found", "token_not_found"} <= set(
        codes[404]
    )
    assert {"interaction_not_found", "instance_not_found", "credential_not_found"} <= set(codes[404])
    # And the bases' vague codes are not among them (no refusal raises a base: tests/unit)
    assert not {"not_found", "conflict", "unprocessable"} & {c for cs in codes.values() for c in cs}
    assert {"invalid_request", "malformed_json", "too_deeply_nested", "bad_cursor"} <= set(codes[400])


def test_the_links_lead_to_operations_of_the_document(document: dict[str, Any]) -> None:
    ids = {op["operationId"] for _, _, op in operations(document)}
    links = {
        name: link
        for _, _, op in operations(document)
        for response in op["responses"].values()
        for name, link in response.get("links", {}).items()
    }
    # Then start -> get, stop, resolutions and resolve are declared, each to a real operation
    assert {"GetWorkflow", "StopWorkflow", "ListResolutions", "Resolve"} <= set(links)
    for name, link in links.items():
        assert link["operationId"] in ids, name


def test_the_design_body_is_the_interaction_model(document: dict[str, Any]) -> None:
    body = document["paths"]["/api/interactions"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/InteractionDesign"}
    design = document["components"]["schemas"]["InteractionDesign"]
    assert set(design["required"]) == {"name", "workflows"}
    assert design.get("additionalProperties") is False


def test_a_design_the_model_refuses_is_422_with_each_problem_by_path(
    api: Api, tokens: dict[str, str]
) -> None:
    # Given a design missing its workflows and with a field no design has
    admin = api.as_(tokens["administrator"])
    # When it is saved
    reply = admin.post("/api/interactions", {"name": "x", "colour": "blue"})
    # Then 422 invalid_interaction, each problem at its path (as the service itself answers)
    assert reply.status == 422, reply.body
    assert reply.body["error"]["code"] == "invalid_interaction"
    paths = {p["path"] for p in reply.body["error"]["details"]["problems"]}
    assert paths == {"workflows", "colour"}


def test_a_design_that_breaks_a_cross_field_rule_is_still_422_by_path(
    api: Api, tokens: dict[str, str]
) -> None:
    # Given a schema-valid design whose two workflows share a key
    workflow = {"key": "a", "name": "A", "branches": [[{"type": "batch_audience", "name": "all"}]]}
    reply = api.as_(tokens["administrator"]).post(
        "/api/interactions", {"name": "twins", "workflows": [workflow, workflow]}
    )
    # Then the cross-field rule answers 422 with its problem
    assert reply.status == 422, reply.body
    assert reply.body["error"]["code"] == "invalid_interaction"
    assert any("unique" in p["message"] for p in reply.body["error"]["details"]["problems"])


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/prioritization", {"max_concurrent_activities": True}),
        ("/api/prioritization", {"max_concurrent_activities": "5"}),
        ("/api/schedules/none", {"enabled": 1}),
    ],
)
def test_a_body_is_held_to_its_json_types(api: Api, tokens: dict[str, str], path: str, body: Any) -> None:
    # Given a body whose value is not of the documented JSON type (a boolean or string for an
    # integer, a number for a boolean)
    reply = api.as_(tokens["administrator"]).call("PUT", path, body)
    # Then 400 naming the field, nothing changed
    assert reply.status == 400, reply.body
    assert next(iter(body)) in reply.body["error"]["message"]


def test_a_whole_number_written_with_a_fraction_is_an_integer_as_json_schema_says(
    api: Api, tokens: dict[str, str]
) -> None:
    # Given a token request whose days are 7.0 (an integer to JSON Schema), and one with 7.5
    boss = api.as_(tokens["administrator"])
    whole = boss.post("/api/tokens", {"user": "seven-days", "role": "user", "expires_in_days": 7.0})
    part = boss.post("/api/tokens", {"user": "seven-and-a-half", "role": "user", "expires_in_days": 7.5})
    # Then the first is issued for 7 days, the second refused by field
    assert whole.status == 201, whole.body
    days = datetime.fromisoformat(whole.body["expires_at"]) - datetime.fromisoformat(whole.body["created_at"])
    assert days.days == 7
    assert part.status == 400 and part.body["error"]["details"]["field"] == "expires_in_days", part.body
    assert boss.call("DELETE", f"/api/tokens/{whole.body['id']}").status == 204
