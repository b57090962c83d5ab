"""Infra tier: the synthesized CloudFormation template, asserted.

One session-scoped synth with asset bundling skipped (no pip run, a few seconds).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `infra` is the repository's top-level package
    sys.path.insert(0, str(REPO_ROOT))

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(app, stack, template dict) of the Switchyard stack as app.py builds it, bundling skipped."""
    from aws_cdk.assertions import Template
    from infra_helpers import SKIP_BUNDLING

    from infra.application import build_app

    app, stack = build_app(context=SKIP_BUNDLING, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    template = Template.from_stack(stack)
    return app, stack, template.to_json()


@pytest.fixture(scope="session")
def stack(synth: Any) -> Any:
    return synth[1]


@pytest.fixture(scope="session")
def template(synth: Any) -> dict[str, Any]:
    return synth[2]  # type: ignore[no-any-return]
