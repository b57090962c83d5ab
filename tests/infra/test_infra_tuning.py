"""Engine settings a deployment tunes with CDK context: how often an interactive audience looks
at its next cycle, and the history events after which a run carries on in a new execution."""

from __future__ import annotations

from typing import Any

import pytest
from infra_helpers import SKIP_BUNDLING, functions
from switchyard import declarations as d


def synth(tmp_path_factory: pytest.TempPathFactory, **context: Any) -> dict[str, Any]:
    from aws_cdk.assertions import Template

    from infra.application import build_app

    _, stack = build_app(context={**SKIP_BUNDLING, **context}, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    return Template.from_stack(stack).to_json()  # type: ignore[no-any-return]


def env_of(template: dict[str, Any], key: str) -> dict[str, Any]:
    _, function = functions(template)[key]
    return function["Properties"]["Environment"]["Variables"]  # type: ignore[no-any-return]


def test_without_context_the_functions_keep_the_defaults(template: dict[str, Any]) -> None:
    engine = env_of(template, "engine")
    assert d.ENV_INTERACTIVE_CHECK_SECONDS not in engine and d.ENV_HANDOFF_EVENTS not in engine


def test_context_sets_the_interactive_check_and_the_handoff_threshold(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    template = synth(
        tmp_path_factory,
        **{"switchyard:interactive-check-seconds": "120", "switchyard:handoff-events": 0},
    )
    for key in ("engine", "api", "activity"):
        env = env_of(template, key)
        assert env[d.ENV_INTERACTIVE_CHECK_SECONDS] == "120"
        assert env[d.ENV_HANDOFF_EVENTS] == "0"  # 0: never hands over


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("switchyard:interactive-check-seconds", "5", "between 10 and 3,600, not 5"),
        ("switchyard:handoff-events", "30000", "between 1,000 and 24,000, not 30,000"),
        ("switchyard:handoff-events", "lots", "must be a whole number, not 'lots'"),
    ],
)
def test_a_value_out_of_range_stops_the_synth_saying_what_to_set(
    tmp_path_factory: pytest.TempPathFactory, key: str, value: str, words: str
) -> None:
    with pytest.raises(ValueError, match=words) as raised:
        synth(tmp_path_factory, **{key: value})
    assert key in str(raised.value)
