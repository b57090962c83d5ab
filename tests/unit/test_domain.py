"""Planning, classification, resolutions, roles and the state machine loader."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from switchyard import declarations as d
from switchyard.api.auth import Permission, require
from switchyard.domain import resolutions
from switchyard.domain.errors import ConfigurationMissing, Forbidden, ValidationFailed
from switchyard.domain.models import Principal, Task, TaskErrorInfo
from switchyard.domain.plans.data import plan_courier_group
from switchyard.services.engine import classify
from switchyard.statemachines import load_definition, machines_dir, placeholders, state_names, substitute

from tests.fakes import MemoryConfig

NOW = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)


def configured() -> MemoryConfig:
    config = MemoryConfig()
    for name in ("crm", "web"):
        config.put("courier", name, {"name": name, "prefix": f"drops/{name}/", "pattern": "x", "table": name})
    config.put("courier_group", "daily", {"name": "daily", "couriers": ["crm", "web"]})
    return config


def test_a_courier_group_plans_sources_then_stitch_then_customer_360() -> None:
    stages = plan_courier_group("daily", None, NOW, configured())
    assert [s.name for s in stages] == ["Sources", "Stitch", "Customer 360"]
    assert [t.name for t in stages[0].tasks] == ["Courier: crm", "Courier: web"]
    assert stages[0].tasks[0].inputs["run_date"] == "2026-12-05"
    assert stages[1].tasks[0].inputs["tables"] == ["crm", "web"]


def test_planning_an_unknown_group_or_courier_says_what_is_missing() -> None:
    with pytest.raises(ConfigurationMissing, match=r"No courier group named 'nightly'"):
        plan_courier_group("nightly", None, NOW, configured())
    with pytest.raises(ConfigurationMissing, match="ghost"):
        plan_courier_group("adhoc", {"couriers": ["crm", "ghost"]}, NOW, configured())
    with pytest.raises(ValidationFailed, match=r"config\.couriers"):
        plan_courier_group("adhoc", {"couriers": []}, NOW, configured())


def test_failures_are_classified_by_error_type_not_by_message() -> None:
    cause = json.dumps(
        {"errorType": "MissingFileError", "errorMessage": "connection refused", "stackTrace": []}
    )
    missing = classify({"Error": "MissingFileError", "Cause": cause})
    assert (missing.code, missing.category) == ("missing_file", "source")
    assert missing.message == "connection refused"
    other = classify(
        {"Error": "KeyError", "Cause": json.dumps({"errorType": "KeyError", "errorMessage": "'x'"})}
    )
    assert other.code == "unexpected_error"
    platform = classify({"Error": "States.Runtime", "Cause": "bad path"})
    assert (platform.code, platform.category) == ("platform_error", "platform")
    # the platform's errors a user can act on have their own codes
    timed_out = classify({"Error": "States.Timeout", "Cause": ""})
    assert (timed_out.code, timed_out.category) == ("task_timed_out", "platform")
    assert "time limit" in timed_out.message
    throttled = classify({"Error": "Lambda.TooManyRequestsException", "Cause": "Rate exceeded"})
    assert (throttled.code, throttled.message) == ("task_throttled", "Rate exceeded")


def _failed(code: str) -> Task:
    return Task(
        id="t",
        name="Courier: pos",
        kind="courier",
        stage="Sources",
        position=0,
        error=TaskErrorInfo(code=code, category="source", message="m"),
    )


def test_a_missing_file_is_offered_ignore_first_then_the_common_resolutions() -> None:
    ids = [r.id for r in resolutions.offered(_failed("missing_file"))]
    assert ids == ["ignore_missing_file", "retry_task", "restart_task", "skip_task"]
    assert "ignore_missing_file" not in [r.id for r in resolutions.offered(_failed("unexpected_error"))]


def test_resolution_parameters_are_checked() -> None:
    retry = resolutions.ALL["retry_task"]
    assert resolutions.validate_params(retry, {"overrides": {"pattern": "x"}}) == []
    assert resolutions.validate_params(retry, {"overrides": "x"}) == ["overrides must be an object"]
    assert resolutions.validate_params(retry, {"force": True}) == ["retry_task takes no parameter 'force'"]


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("administrator", set(Permission)),
        # rolling back an interaction's production instance, replacing the catalog, changing the
        # prioritization settings, managing API tokens and the tenant's settings (allowed email
        # domains) are the administrator's alone
        (
            "operator",
            set(Permission)
            - {
                Permission.ROLLBACK_INTERACTIONS,
                Permission.MANAGE_CATALOG,
                Permission.MANAGE_PRIORITIZATION,
                Permission.MANAGE_TOKENS,
                Permission.MANAGE_SETTINGS,
            },
        ),
        ("user", {Permission.READ_WORKFLOWS, Permission.START_WORKFLOWS}),
        ("audience_only", set()),
    ],
)
def test_roles_grant_what_the_products_policies_say(role: str, allowed: set[Permission]) -> None:
    who = Principal(user="u", role=role)
    for permission in Permission:
        if permission in allowed:
            require(who, permission)
        else:
            with pytest.raises(Forbidden):
                require(who, permission)


def test_every_machine_expands_the_task_fragment_and_declares_its_placeholders() -> None:
    for wtype, machine in d.STATE_MACHINES.items():
        definition = load_definition(wtype)
        # no reference, merge or fragment parameter is left over
        for marker in ("$fragment", "$with", "$merge", "$prefix", "{{", "}}"):
            assert marker not in definition, (wtype, marker)
        assert placeholders(definition) == machine.placeholders
        assert "arn:aws:" not in definition  # the partition is the deployment's (aws-cn, aws-us-gov)
        filled = json.loads(substitute(definition, {p: f"arn:{p}" for p in machine.placeholders}))
        # every Map's processor that came from the fragment holds the task pattern, its states
        # named after the Map (an interaction's branch Map holds the activity Map one level down)
        processors = [
            (name, body["ItemProcessor"])
            for states in _all_states(filled)
            for name, body in states.items()
            if body["Type"] == "Map" and f"{name}.AwaitResolution" in body["ItemProcessor"]["States"]
        ]
        assert processors, "tasks run through the fragment inside Map states"
        for name, processor in processors:
            assert processor["StartAt"] == f"{name}.BeginTask"
            assert processor["States"][f"{name}.AwaitResolution"]["Resource"].endswith("waitForTaskToken")


def _all_states(machine: dict[str, Any]) -> list[dict[str, Any]]:
    """The States of a machine and of every processor and branch in it."""
    found = [machine["States"]]
    for body in machine["States"].values():
        for key in ("ItemProcessor", "Iterator"):
            if key in body:
                found += _all_states(body[key])
        for branch in body.get("Branches", []):
            found += _all_states(branch)
    return found


def test_state_names_are_unique_across_each_machine_and_every_transition_lands_in_its_scope() -> None:
    # Step Functions refuses a definition that repeats a state name anywhere in it
    for wtype in d.STATE_MACHINES:
        machine = json.loads(load_definition(wtype))
        names = state_names(machine)
        repeated = sorted({n for n in names if names.count(n) > 1})
        assert not repeated, f"{wtype}: {repeated}"
        assert all(len(n) <= 80 for n in names), wtype
        for states in _all_states(machine):
            targets = [
                target
                for body in states.values()
                for target in (
                    [body.get("Next"), body.get("Default")]
                    + [rule.get("Next") for rule in body.get("Choices", [])]
                    + [catcher["Next"] for catcher in body.get("Catch", [])]
                )
                if target
            ]
            assert set(targets) <= set(states), (wtype, sorted(set(targets) - set(states)))


def test_a_fragment_in_two_maps_gets_each_maps_name(tmp_path: Path) -> None:
    (tmp_path / "fragments").mkdir()
    (tmp_path / "fragments" / "step.asl.json").write_text(
        json.dumps(
            {
                "StartAt": "Do",
                "States": {
                    "Do": {"Type": "Pass", "Next": "Check"},
                    "Check": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$.x", "BooleanEquals": True, "Next": "Do"}],
                        "Default": "Done",
                    },
                    "Done": {"Type": "Succeed"},
                },
            }
        )
    )
    mapped = {"Type": "Map", "ItemProcessor": {"$fragment": "step"}}
    (tmp_path / "two.asl.json").write_text(
        json.dumps(
            {
                "StartAt": "A",
                "States": {"A": {**mapped, "Next": "B"}, "B": {**mapped, "End": True}},
            }
        )
    )
    machine = json.loads(load_definition("two", tmp_path))
    b = machine["States"]["B"]["ItemProcessor"]
    assert b["StartAt"] == "B.Do"
    assert b["States"]["B.Check"]["Choices"][0]["Next"] == "B.Do"
    assert b["States"]["B.Check"]["Default"] == "B.Done"
    assert sorted(state_names(machine)) == sorted(
        ["A", "A.Do", "A.Check", "A.Done", "B", "B.Do", "B.Check", "B.Done"]
    )


def test_every_machine_file_takes_its_plan_and_stages_from_the_fragments() -> None:
    # the files hold what differs per type: which stages, in which order (interaction's
    # branches excepted, it runs its own processor)
    for wtype in d.STATE_MACHINES:
        raw = json.loads((machines_dir() / f"{wtype}.asl.json").read_text())
        assert raw["States"]["Plan"]["$fragment"] == "plan", wtype
        maps = {name: body for name, body in raw["States"].items() if name not in ("Plan", "$merge")}
        for name, body in maps.items():
            if "$fragment" not in body:
                assert body["ItemsPath"] == "$.plan.branches", (wtype, name)
            else:
                assert body["$fragment"] == "stage", (wtype, name)


def _stage_fragments(tmp_path: Path) -> Path:
    (tmp_path / "fragments").mkdir()
    (tmp_path / "fragments" / "step.asl.json").write_text(
        json.dumps(
            {"StartAt": "Do", "States": {"Do": {"Type": "Pass", "Next": "Done"}, "Done": {"Type": "Succeed"}}}
        )
    )
    (tmp_path / "fragments" / "stage.asl.json").write_text(
        json.dumps(
            {
                "Comment": "a stage: {{stage}}",
                "Type": "Map",
                "ItemsPath": "$.plan.{{stage}}",
                "ItemSelector": {"{{stage}}_id.$": "$$.Map.Item.Value"},
                "ItemProcessor": {"$fragment": "step"},
                "Next": "{{next}}",
            }
        )
    )
    return tmp_path


def test_a_fragment_with_parameters_is_filled_in_and_its_processor_named_after_its_state(
    tmp_path: Path,
) -> None:
    _stage_fragments(tmp_path)
    (tmp_path / "m.asl.json").write_text(
        json.dumps(
            {
                "StartAt": "Load",
                "States": {
                    "Load": {"$fragment": "stage", "$with": {"stage": "load", "next": "Check"}},
                    "Check": {"$fragment": "stage", "$with": {"stage": "check", "next": "End"}},
                    "End": {"Type": "Succeed"},
                },
            }
        )
    )
    machine = json.loads(load_definition("m", tmp_path))
    check = machine["States"]["Check"]
    assert "Comment" not in check  # the fragment's own description is dropped
    assert check["ItemsPath"] == "$.plan.check"
    assert check["ItemSelector"] == {"check_id.$": "$$.Map.Item.Value"}
    assert check["Next"] == "End"
    assert check["ItemProcessor"]["StartAt"] == "Check.Do"
    assert sorted(state_names(machine)) == sorted(
        ["Load", "Load.Do", "Load.Done", "Check", "Check.Do", "Check.Done", "End"]
    )


@pytest.mark.parametrize(
    ("parameters", "error"),
    [
        ({"stage": "load"}, "needs parameter 'next'"),
        ({"stage": "load", "next": "End", "then": "x"}, r"has no parameter \['then'\]"),
        ({"stage": "load", "next": 1}, "maps parameter names to strings"),
    ],
)
def test_a_fragment_parameter_left_unfilled_or_unknown_is_rejected(
    tmp_path: Path, parameters: dict[str, Any], error: str
) -> None:
    _stage_fragments(tmp_path)
    (tmp_path / "m.asl.json").write_text(
        json.dumps(
            {
                "StartAt": "Load",
                "States": {"Load": {"$fragment": "stage", "$with": parameters}, "End": {"Type": "Succeed"}},
            }
        )
    )
    with pytest.raises(ValueError, match=error):
        load_definition("m", tmp_path)


def test_a_missing_substitution_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="EngineFunctionArn"):
        substitute(load_definition("courier_group"), {})


def test_a_fragment_that_includes_itself_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "fragments").mkdir()
    (tmp_path / "fragments" / "loop.asl.json").write_text('{"States": {"$fragment": "loop"}}')
    (tmp_path / "m.asl.json").write_text('{"StartAt": "A", "States": {"$fragment": "loop"}}')
    with pytest.raises(ValueError, match="includes itself"):
        load_definition("m", tmp_path)


def test_every_task_error_is_registered_under_its_class_name_with_its_own_code() -> None:
    # Given every module of the package imported (a task error defined anywhere is loaded)
    import importlib
    import pkgutil

    import switchyard
    from switchyard.domain.task_errors import TASK_ERRORS, TaskError

    for module in pkgutil.walk_packages(switchyard.__path__, "switchyard."):
        if not module.name.startswith("switchyard.local"):  # moto: the local runtime's only
            importlib.import_module(module.name)

    def subclasses(cls: type) -> list[type]:
        return [cls, *(s for sub in cls.__subclasses__() for s in subclasses(sub))]

    found = subclasses(TaskError)
    # Then each lives in domain/task_errors.py (the engine, which imports no task code, knows it) and
    # is registered under the name the Lambda runtime reports as its errorType
    assert {c.__module__ for c in found} == {"switchyard.domain.task_errors"}
    assert {c.__name__: c for c in found} == TASK_ERRORS
    # (a connection error is one code, told apart by its category: source or destination)
    classified = [(c.code, c.category) for c in found]
    assert len(classified) == len(set(classified)), "two task errors are classified the same"
    assert TASK_ERRORS["ExportDestinationError"].code == "invalid_export_destination"


def test_every_offered_resolution_is_in_the_registry() -> None:
    offered = {r.id for r in resolutions.COMMON} | {
        r.id for options in resolutions.BY_ERROR_CODE.values() for r in options
    }
    assert offered <= set(resolutions.ALL)
    assert {"update_credentials", "fix_list_name", "ignore_jitter"} <= set(resolutions.ALL)
    # and every registered resolution is offered for some failure
    assert set(resolutions.ALL) == offered
    # and every code a resolution is offered for is a task error's code
    from switchyard.domain.task_errors import TASK_ERRORS

    assert set(resolutions.BY_ERROR_CODE) <= {c.code for c in TASK_ERRORS.values()}


def _failed_query(inputs: dict[str, object]) -> Task:
    return Task(id="t1", name="Query", kind="query", stage="queries", position=0, inputs=inputs)


def test_each_resolution_says_what_the_task_runs_again_with() -> None:
    # Given a failed task and the current configuration, which has a fixed pattern
    task = _failed_query({"pattern": "crm_*.csv", "fail_above": 5})

    def configured(inputs: dict[str, object]) -> dict[str, object]:
        return {**inputs, "pattern": "crm_v2_*.csv"}

    # When each resolution that runs the task again says what it runs with
    def run_with(rid: str, params: dict[str, object]) -> dict[str, object]:
        return resolutions.ALL[rid].inputs(task, params, configured)

    # Then retry keeps the inputs (with the overrides), restart and the fixes read the configuration,
    # the threshold rises for this run, and ignore-jitter adds its flag
    assert run_with("retry_task", {}) == task.inputs
    assert run_with("retry_task", {"overrides": {"pattern": "x"}})["pattern"] == "x"
    for rid in ("restart_task", "fix_missing_table", "fix_list_name", "update_credentials"):
        assert run_with(rid, {})["pattern"] == "crm_v2_*.csv"
    assert run_with("raise_error_threshold", {"threshold": 9})["fail_above"] == 9
    assert run_with("ignore_jitter", {})["ignore_jitter"] is True
    # and the closing ones do not run it again
    assert {r.id for r in resolutions.ALL.values() if r.outcome != "run"} == {
        "skip_task",
        "ignore_missing_file",
    }


def test_resolutions_check_their_parameters_against_the_task() -> None:
    # Given a failed query task with a threshold of 5
    task = _failed_query({"pattern": "crm_*.csv", "fail_above": 5})
    # Then an override of an input the task does not have, and a threshold not above 5, are refused
    retry, threshold = resolutions.ALL["retry_task"], resolutions.ALL["raise_error_threshold"]
    assert retry.problems(task, {"overrides": {"patern": "x"}}) == [
        "overrides may only replace the task's inputs (fail_above, pattern); unknown: patern"
    ]
    assert threshold.problems(task, {"threshold": 5}) == ["threshold must be above the current threshold (5)"]
    assert threshold.problems(task, {"threshold": 6}) == []
    # and credentials are never recorded as given
    assert resolutions.ALL["update_credentials"].recorded_params({"credentials": {"k": "v"}}) == {
        "credentials": "<redacted>"
    }


def test_no_refusal_is_raised_with_a_base_class_code() -> None:
    # Given every module of the package's source
    from pathlib import Path

    import switchyard
    from switchyard.domain import errors

    bases = [name for name in dir(errors) if getattr(getattr(errors, name), "__dict__", {}).get("abstract")]
    assert set(bases) == {"NotFound", "Conflict", "Unprocessable"}
    raising = re.compile(r"raise (?:errors\.)?(" + "|".join(bases) + r")\(")
    found = [
        f"{path.name}:{n}"
        for path in Path(switchyard.__path__[0]).rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if raising.search(line)
    ]
    # Then none raises a base (whose vague code, not_found or conflict, tells a client nothing):
    # each refusal is a subclass with its own code, listed in the OpenAPI document
    assert found == []
