"""Build the CDK app: the Switchyard stack with the cdk-nag AwsSolutions checks.

``app.py`` calls :func:`build_app` and synthesizes; the infra tests call it with the context of
``cdk.json`` plus their own (bundling skipped) and inspect the stack.
"""

from __future__ import annotations

import json
import os
from typing import Any

from aws_cdk import App, Environment

from infra import constants as c
from infra.nag import add_checks
from infra.stacks.switchyard_stack import SwitchyardStack


def default_environment() -> Environment | None:
    """The CLI's account and region when it provides them; an environment-agnostic stack otherwise."""
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    if account or region:
        return Environment(account=account, region=region)
    return None


def cdk_json_context() -> dict[str, Any]:
    """The context (feature flags) of cdk.json, which ``cdk`` passes but ``python app.py`` does not."""
    context: dict[str, Any] = json.loads((c.REPO_ROOT / "cdk.json").read_text()).get("context", {})
    return context


def build_app(
    context: dict[str, Any] | None = None, outdir: str | None = None, env: Environment | None = None
) -> tuple[App, SwitchyardStack]:
    # Defaults: the CDK CLI's own context (CDK_CONTEXT_JSON) still overrides them.
    app = App(context={**cdk_json_context(), **(context or {})}, outdir=outdir)
    stack = SwitchyardStack(app, c.STACK_ID, env=env)
    add_checks(app)
    return app, stack
