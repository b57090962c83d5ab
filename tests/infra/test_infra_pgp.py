"""Exports' PGP keys: the activity function (it encrypts and signs) reads the recipients' public
keys (switchyard/pgp/) and our signing keys (switchyard/pgp-signing/); the triggers function (a
fire validates the design again) reads the public keys and may only ask whether a signing key
exists; the API may never read or write a signing key."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest
from infra_helpers import functions, grants, role_statements
from switchyard import declarations as d

READ = {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}


def _secret_grants(template: dict[str, Any], key: str, effect: str = "Allow") -> list[tuple[str, str]]:
    _, function = functions(template)[key]
    return grants(role_statements(template, function["Properties"]["Role"]), "secretsmanager", effect)


@pytest.mark.parametrize(
    ("key", "prefixes"),
    [
        # the activity function also delivers exports: their destinations' credentials
        ("activity", ["switchyard/destinations/", d.PGP_SIGNING_SECRET_PREFIX, d.PGP_SECRET_PREFIX]),
        ("triggers", [d.PGP_SECRET_PREFIX]),
    ],
)
def test_the_activity_and_triggers_functions_only_read_the_pgp_keys(
    template: dict[str, Any], key: str, prefixes: list[str]
) -> None:
    found = [
        (a, r)
        for a, r in _secret_grants(template, key)
        if a != "secretsmanager:DescribeSecret" or any(r.endswith(f":secret:{p}*") for p in prefixes)
    ]
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


def test_signing_keys_are_read_by_the_activity_function_only(template: dict[str, Any]) -> None:
    signing = f":secret:{d.PGP_SIGNING_SECRET_PREFIX}*"
    assert d.PGP_SIGNING_SECRET_PREFIX == "switchyard/pgp-signing/"
    # the triggers function may ask whether one exists (a fire checks the design), not read it
    assert [a for a, r in _secret_grants(template, "triggers") if r.endswith(signing)] == [
        "secretsmanager:DescribeSecret"
    ]
    # the API may read and write switchyard/* (update_credentials), but never a signing key
    denied = _secret_grants(template, "api", "Deny")
    assert {a for a, r in denied if r.endswith(signing)} == {
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:CreateSecret",
    }
    assert all(r.endswith(signing) for _, r in denied)
    # no other function can read them: a grant that covers them comes with the Deny
    signing_key = f"{d.PGP_SIGNING_SECRET_PREFIX}ours-AbCdEf"
    for key in functions(template):
        readable = [
            r.split(":secret:", 1)[1]
            for a, r in _secret_grants(template, key)
            if a == "secretsmanager:GetSecretValue"
        ]
        covered = any(fnmatch.fnmatchcase(signing_key, pattern) for pattern in readable)
        denied = {a for a, r in _secret_grants(template, key, "Deny") if r.endswith(signing)}
        if key == "activity":
            assert covered and not denied
        else:
            assert not covered or "secretsmanager:GetSecretValue" in denied, key
