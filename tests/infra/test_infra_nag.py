"""cdk-nag (AwsSolutions): no finding is left unanswered, and no acknowledgement is stale.

cdk-nag 3 is a CDK validation plugin: findings come from ``NagPack.validate_scope`` (and make
``app.synth()`` fail), not from annotations.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cdk_nag import AwsSolutionsChecks
from infra_helpers import SKIP_BUNDLING

from infra import nag


def _findings(scope: Any) -> list[tuple[str, str]]:
    report = AwsSolutionsChecks().validate_scope(scope)
    return [
        (str(resource.construct_path), violation.rule_name)
        for violation in report.violations
        for resource in violation.violating_resources
    ]


def test_no_aws_solutions_finding_is_left_unacknowledged(stack: Any) -> None:
    assert _findings(stack) == []


@pytest.fixture(scope="module")
def without_acknowledgements(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The same app with every acknowledgement recorded instead of applied."""
    from infra.application import build_app

    recorded: list[tuple[str, str, str]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            nag,
            "acknowledge",
            lambda scope, rule_id, reason: recorded.append((scope.node.path, rule_id, reason)),
        )
        app, stack = build_app(context=SKIP_BUNDLING, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    yield app, stack, recorded


def test_every_acknowledgement_answers_a_real_finding_and_gives_a_reason(
    without_acknowledgements: Any,
) -> None:
    _, stack, recorded = without_acknowledgements
    findings = _findings(stack)
    assert recorded, "the constructs acknowledge nothing: the monkeypatch missed them"
    for path, rule_id, reason in recorded:
        assert any(
            rule == rule_id and (found == path or found.startswith(path + "/")) for found, rule in findings
        ), f"stale acknowledgement {rule_id} on {path}"
        assert len(reason) > 30, f"{rule_id} on {path}: say why"


def test_the_app_refuses_to_synthesize_with_unanswered_findings(without_acknowledgements: Any) -> None:
    app, _, _ = without_acknowledgements
    with pytest.raises(Exception, match="AwsSolutions"):
        app.synth()
