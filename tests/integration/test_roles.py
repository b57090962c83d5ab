"""The roles as the docs state them: every permission table in README.md and docs/*.md against
what each role's token may do, and the administrator-only routes (the warehouse catalog, the
prioritization settings, rollback) called with every role."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Api

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ROLES = ("administrator", "operator", "user", "audience_only")


def documented_grants() -> dict[str, set[str]]:
    """Permission -> roles, from every markdown table whose first column is `permission` and whose
    last is `roles` (README's Roles, docs/interactions.md's API)."""
    grants: dict[str, set[str]] = {}
    for doc in DOCS:
        lines = doc.read_text().splitlines()
        for i, line in enumerate(lines):
            header = [c.strip() for c in line.strip().strip("|").split("|")]
            if header[0] != "permission" or header[-1] != "roles":
                continue
            for row in lines[i + 2 :]:
                if not row.startswith("|"):
                    break
                cells = [c.strip() for c in row.strip().strip("|").split("|")]
                roles = {r.strip() for r in cells[-1].split(",")}
                for permission in re.findall(r"`(\w+)`", cells[0]):
                    assert grants.setdefault(permission, roles) == roles, (doc.name, permission)
    return grants


def test_every_role_has_exactly_the_permissions_the_docs_give_it(api: Api, tokens: dict[str, str]) -> None:
    # Given the permission tables of the docs
    grants = documented_grants()
    assert {"manage_catalog", "manage_prioritization", "rollback_interactions"} <= set(grants)
    for role in ROLES:
        # When each role asks what it may do
        me = api.as_(tokens[role]).get("/api/me")
        assert me.status == 200, me.body
        # Then it is what the docs say, no more and no less
        assert set(me.body["permissions"]) == {p for p, roles in grants.items() if role in roles}, role


def _current(api: Api, path: str, key: str) -> Any:
    reply = api.get(path)
    assert reply.status == 200, reply.body
    return reply.body[key]


# (route, permission it needs); each body changes nothing: the current catalog, the current settings
ADMIN_ONLY = [
    ("PUT", "/api/warehouse/catalog", "manage_catalog"),
    ("PUT", "/api/prioritization", "manage_prioritization"),
    ("POST", "/api/interactions/no-such-design/workflows/main/instances/1/rollback", "rollback_interactions"),
]


@pytest.mark.parametrize(("method", "path", "permission"), ADMIN_ONLY, ids=[p for _, _, p in ADMIN_ONLY])
def test_the_administrator_only_routes_refuse_every_other_role_and_change_nothing(
    api: Api, tokens: dict[str, str], method: str, path: str, permission: str
) -> None:
    admin = api.as_(tokens["administrator"])
    body: Any = None
    if path == "/api/warehouse/catalog":
        body = _current(admin, path, "catalog")
    elif path == "/api/prioritization":
        body = _current(admin, path, "settings")
    history_before = _current(admin, "/api/warehouse/catalog/history", "items")
    allowed = documented_grants()[permission]
    for role in ROLES:
        # When each role calls the route
        reply = api.as_(tokens[role]).call(method, path, body)
        # Then the roles the docs list get through (the rollback then finds no such design),
        # every other role gets 403
        if role in allowed:
            assert reply.status == (404 if "rollback" in path else 200), (role, reply.body)
        else:
            assert reply.status == 403, (role, reply.body)
            assert reply.body["error"]["code"] == "forbidden"
    # And a refused catalog change is not in the catalog's history
    history_after = _current(admin, "/api/warehouse/catalog/history", "items")
    added = len(history_after) - len(history_before)
    assert added == (1 if path == "/api/warehouse/catalog" else 0)
    if added:
        assert history_after[0]["by"] == "administrator-person"


@pytest.mark.parametrize(
    "path", ["/api/warehouse/catalog", "/api/warehouse/catalog/history", "/api/prioritization"]
)
def test_readers_of_workflows_see_the_catalog_its_history_and_the_prioritization(
    api: Api, tokens: dict[str, str], path: str
) -> None:
    readers = documented_grants()["read_workflows"]
    for role in ROLES:
        assert api.as_(tokens[role]).get(path).status == (200 if role in readers else 403), role
