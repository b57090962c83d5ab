"""cfn-lint on the synthesized template: what CloudFormation's own schemas refuse never lands.

One rule is left out, with its reason: W3005 (an obsolete DependsOn) is CDK's own doing (a
function depends on its role's default policy and also reads the role's ARN); it is a warning
and CloudFormation deploys it as it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cfnlint.api import ManualArgs, lint_file

IGNORED = ["W3005"]


def test_cfn_lint_finds_no_error_or_warning(template: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "switchyard.template.json"
    path.write_text(json.dumps(template))
    found = lint_file(path, config=ManualArgs(ignore_checks=IGNORED, regions=["us-east-1", "eu-west-1"]))
    assert [f"{m.rule.id} {m.message}" for m in found] == []
