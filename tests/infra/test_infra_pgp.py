"""Exports' PGP keys: the activity function (it encrypts) and the triggers function (a fire
validates the design again) read secrets under switchyard/pgp/ and no others."""

from __future__ import annotations

from typing import Any

import pytest
from infra_helpers import functions, grants, role_statements
from switchyard import declarations as d

READ = {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}


def _secret_grants(template: dict[str, Any], key: str) -> list[tuple[str, str]]:
    _, function = functions(template)[key]
    return grants(role_statements(template, function["Properties"]["Role"]), "secretsmanager")


@pytest.mark.parametrize(
    ("key", "prefixes"),
    [
        # the activity function also delivers exports: their destinations' credentials
        ("activity", ["switchyard/destinations/", d.PGP_SECRET_PREFIX]),
        ("triggers", [d.PGP_SECRET_PREFIX]),
    ],
)
def test_the_activity_and_triggers_functions_only_read_the_pgp_public_keys(
    template: dict[str, Any], key: str, prefixes: list[str]
) -> None:
    found = _secret_grants(template, key)
    assert {action for action, _ in found} == READ
    resources = sorted({resource for _, resource in found})
    assert len(resources) == len(prefixes)
    for resource, prefix in zip(resources, prefixes, strict=True):
        assert resource.endswith(f":secret:{prefix}*")
    assert d.PGP_SECRET_PREFIX == "switchyard/pgp/"


def test_other_functions_keep_their_own_secrets_grants(template: dict[str, Any]) -> None:
    # the deliver function reads destination credentials anywhere under switchyard/
    assert {r for _, r in _secret_grants(template, "deliver")} == {
        r for _, r in _secret_grants(template, "alerts")
    }
    assert all(r.endswith(":secret:switchyard/*") for _, r in _secret_grants(template, "deliver"))
    # the engine (it never exports) reads no secret at all
    assert _secret_grants(template, "engine") == []
