"""cdk-nag (v3) wiring: the AwsSolutions pack and acknowledgements with their reasons.

cdk-nag 3 is a CDK policy-validation plugin: findings are reported at synth (and make it fail),
not as annotations; a finding is acknowledged on a construct (or an ancestor) with
``Validations.of(construct).acknowledge``. A rule that reports several findings per resource
(IAM4, IAM5) is acknowledged finding by finding: ``AwsSolutions-IAM5[Resource::*]``.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def add_checks(scope: IConstruct) -> AwsSolutionsChecks:
    checks = AwsSolutionsChecks(scope, verbose=True)
    Validations.of(scope).add_plugins(checks)
    return checks


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def arn_of(resource: IConstruct) -> str:
    """How cdk-nag spells ``Fn::GetAtt [resource, Arn]`` in a finding."""
    element = resource if isinstance(resource, CfnElement) else resource.node.default_child
    assert isinstance(element, CfnElement)
    return f"<{Stack.of(element).get_logical_id(element)}.Arn>"
