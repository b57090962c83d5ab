"""Lambda functions: configuration, environment and least-privilege grants."""

from __future__ import annotations

from typing import Any

import pytest
from infra_helpers import functions, grants, render, resources, role_statements, tables
from switchyard import declarations as d
from switchyard.settings import Settings

from infra import constants as c
from infra.constructs.engine import TABLE_ENV
from tests.support.iam import kinds_condition, leading_key_allowed

READ_ONLY_DYNAMODB = {
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:Query",
    "dynamodb:Scan",
}
S3_WRITES = ("s3:PutObject", "s3:DeleteObject", "s3:Abort")


def _table_arns(template: dict[str, Any], logicals: tuple[str, ...] | set[str]) -> set[str]:
    """The ARNs a grant on these tables may name: the table and, for tables with indexes, its indexes."""
    found = tables(template)
    arns = set()
    for logical in logicals:
        logical_id = found[logical][0]
        arns.add(f"<{logical_id}.Arn>")
        if found[logical][1]["Properties"].get("GlobalSecondaryIndexes"):
            arns.add(f"<{logical_id}.Arn>/index/*")
    return arns


def _machine_arn(workflow_type: str) -> str:
    return f"arn:aws:states:REGION:ACCOUNT:stateMachine:{d.state_machine_name(workflow_type)}"


def _data_bucket_id(template: dict[str, Any]) -> str:
    (logical_id,) = [
        k
        for k, v in resources(template, "AWS::S3::Bucket").items()
        if "VersioningConfiguration" in v["Properties"]
    ]
    return logical_id


def _bus_id(template: dict[str, Any]) -> str:
    (logical_id,) = resources(template, "AWS::Events::EventBus")
    return logical_id


def _statements(template: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return role_statements(template, functions(template)[key][1]["Properties"]["Role"])


def _config_writes(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """DynamoDB statements with a condition: writes limited to some configuration kinds."""
    return [s for s in statements if "Condition" in s and grants([s], "dynamodb")]


def test_one_function_per_declaration(template: dict[str, Any]) -> None:
    found = functions(template)
    assert set(found) == set(d.FUNCTIONS)
    assert len(resources(template, "AWS::Lambda::Function")) == len(d.FUNCTIONS)
    for key, decl in d.FUNCTIONS.items():
        properties = found[key][1]["Properties"]
        assert properties["Handler"] == decl.handler
        assert properties["Runtime"] == d.LAMBDA_RUNTIME
        assert properties["MemorySize"] == decl.memory_mb
        assert properties["Timeout"] == decl.timeout_s
        assert properties["TracingConfig"] == {"Mode": "Active"}
        assert len(properties["Layers"]) == 2, "the shared layer and the dependencies layer"


def test_functions_log_to_their_own_log_group_with_retention(template: dict[str, Any]) -> None:
    for key, (_, function) in functions(template).items():
        log_group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert template["Resources"][log_group]["Properties"]["RetentionInDays"] == 30, key


def test_functions_get_powertools_and_the_shared_environment(template: dict[str, Any]) -> None:
    found = functions(template)
    table_ids = {logical: logical_id for logical, (logical_id, _) in tables(template).items()}
    for key, decl in d.FUNCTIONS.items():
        env = found[key][1]["Properties"]["Environment"]["Variables"]
        for name, value in c.POWERTOOLS_ENV.items():
            assert env[name] == value, (key, name)
        for logical, name in TABLE_ENV.items():
            assert env[name] == {"Ref": table_ids[logical]}, (key, name)
        assert env[d.ENV_DATA_BUCKET] == {"Ref": _data_bucket_id(template)}
        assert env[d.ENV_EVENT_BUS] == {"Ref": _bus_id(template)}
        # the site the console is served under (links add /console/...: test_infra_api.py)
        assert render(env[d.ENV_CONSOLE_URL]).endswith(f"/{c.API_STAGE}")
        # the state machines' ARNs (their prefix), for the functions that start executions
        if decl.start_executions:
            settings = Settings.from_env(
                {d.ENV_STATE_MACHINE_ARN_PREFIX: render(env[d.ENV_STATE_MACHINE_ARN_PREFIX])}
            )
            assert settings.state_machines == {t: _machine_arn(t) for t in d.STATE_MACHINES}
        else:
            assert d.ENV_STATE_MACHINE_ARN_PREFIX not in env, key


def test_the_state_machine_arns_in_the_environment_name_the_real_machines(template: dict[str, Any]) -> None:
    for machine in resources(template, "AWS::StepFunctions::StateMachine").values():
        assert machine["Properties"]["StateMachineName"] in {
            d.state_machine_name(t) for t in d.STATE_MACHINES
        }


@pytest.mark.parametrize("key", sorted(d.FUNCTIONS))
def test_a_function_reaches_only_the_tables_it_declares(template: dict[str, Any], key: str) -> None:
    decl = d.FUNCTIONS[key]
    statements = _statements(template, key)
    # (the configuration kinds a function writes are tested below)
    dynamodb = grants([s for s in statements if s not in _config_writes(statements)], "dynamodb")
    granted = {resource for _, resource in dynamodb}
    # Then only the declared tables appear, never "*"
    assert granted == _table_arns(template, set(decl.tables_rw) | set(decl.tables_r))
    # And writes only go to the read-write tables
    writable = _table_arns(template, decl.tables_rw)
    for action, resource in dynamodb:
        if action not in READ_ONLY_DYNAMODB:
            assert resource in writable, (key, action, resource)
    if decl.tables_rw:
        assert any(a == "dynamodb:PutItem" for a, _ in dynamodb)


@pytest.mark.parametrize("key", sorted(d.FUNCTIONS))
def test_a_function_writes_only_the_configuration_kinds_it_declares(
    template: dict[str, Any], key: str
) -> None:
    decl = d.FUNCTIONS[key]
    conditioned = _config_writes(_statements(template, key))
    if not decl.config_kinds_w:
        assert conditioned == []
        return
    (statement,) = conditioned
    # Then writes reach the configuration table only, for items whose partition key is a declared kind
    assert {r for _, r in grants([statement], "dynamodb")} == _table_arns(template, {"config"})
    assert set(statement["Action"]) == {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    assert statement["Condition"] == kinds_condition(decl.config_kinds_w)


def _kinds_the_api_writes() -> dict[str, str]:
    """Each configuration kind the API's code writes, named by the code's own constants and key
    builders (a kind per run is built for one run); tests/support/config_writes.py records, in the
    integration tier, what every handler really writes and checks it against the same condition."""
    from switchyard.data.alerts import AlertRepository
    from switchyard.data.repository import LockRepository
    from switchyard.domain.interactions.activities import CATALOG_KIND
    from switchyard.services.alerts import TENANT_KIND
    from switchyard.services.credentials import META_KIND

    return {
        "PUT /api/warehouse/catalog": CATALOG_KIND,
        "POST /api/workflows/{id}/stop (its locks)": LockRepository.KIND,
        "PUT /api/settings/allowed-domains": TENANT_KIND,
        "PUT /api/credentials/{name}": META_KIND,
        "PUT /api/alerts/automated": AlertRepository.SETTINGS,
        "POST|DELETE /api/workflows/{id}/subscriptions": AlertRepository._subscriptions_kind("wf-0a1b2c"),
    }


def test_the_api_may_write_every_configuration_kind_its_routes_write(template: dict[str, Any]) -> None:
    # Given the condition on the API function's configuration writes, as the template holds it
    (statement,) = _config_writes(_statements(template, "api"))
    # Then every kind a route writes passes it (IAM's StringLike, as AWS evaluates it)
    denied = {
        route: kind
        for route, kind in _kinds_the_api_writes().items()
        if not leading_key_allowed(statement["Condition"], kind)
    }
    assert denied == {}
    # And the tenant's pipeline configuration stays out of its reach
    for kind in ("courier", "courier_group", "destination", "orchestration", "subscriptions"):
        assert not leading_key_allowed(statement["Condition"], kind), kind


def test_functions_that_take_or_release_destination_locks_may_write_them() -> None:
    from switchyard.data.repository import LockRepository

    # the engine takes and releases locks; the API's stop releases a stopped run's locks
    for decl in (d.ENGINE_FUNCTION, d.API_FUNCTION):
        assert LockRepository.KIND in decl.config_kinds_w, decl.key


@pytest.mark.parametrize("key", sorted(d.FUNCTIONS))
def test_a_function_reaches_the_bucket_only_as_declared(template: dict[str, Any], key: str) -> None:
    decl = d.FUNCTIONS[key]
    s3 = grants(_statements(template, key), "s3")
    if not decl.bucket:
        assert s3 == []
        return
    bucket = _data_bucket_id(template)
    assert {resource for _, resource in s3} == {f"<{bucket}.Arn>", f"<{bucket}.Arn>/*"}
    writes = [action for action, _ in s3 if action.startswith(S3_WRITES)]
    assert bool(writes) == (decl.bucket == "read_write"), (key, writes)


@pytest.mark.parametrize("key", sorted(d.FUNCTIONS))
def test_a_function_puts_events_only_if_declared(template: dict[str, Any], key: str) -> None:
    events = grants(_statements(template, key), "events")
    if d.FUNCTIONS[key].put_events:
        assert set(events) == {("events:PutEvents", f"<{_bus_id(template)}.Arn>")}
    else:
        assert events == []


@pytest.mark.parametrize("key", sorted(d.FUNCTIONS))
def test_only_functions_that_start_executions_reach_the_state_machines(
    template: dict[str, Any], key: str
) -> None:
    states = grants(_statements(template, key), "states")
    if not d.FUNCTIONS[key].start_executions:
        # at most: start again the machines of the runs it carries on (the engine: interactions)
        assert sorted(states) == sorted(
            ("states:StartExecution", _machine_arn(t)) for t in d.FUNCTIONS[key].continue_executions
        )
        return
    machines = {_machine_arn(t) for t in d.STATE_MACHINES}
    executions = {
        f"arn:aws:states:REGION:ACCOUNT:execution:{d.state_machine_name(t)}:*" for t in d.STATE_MACHINES
    }
    by_action: dict[str, set[str]] = {}
    for action, resource in states:
        by_action.setdefault(action, set()).add(resource)
    # start and answer task tokens on the declared machines only; stop/describe their executions only
    assert by_action == {
        "states:StartExecution": machines,
        "states:SendTaskSuccess": machines,
        "states:SendTaskFailure": machines,
        "states:StopExecution": executions,
        "states:DescribeExecution": executions,
    }


def test_the_engine_may_start_only_new_executions_of_the_interaction_machine(
    template: dict[str, Any],
) -> None:
    # a long interaction carries on in a new execution of its machine, started by the engine's
    # Finish: StartExecution on that machine, nothing else of Step Functions
    assert grants(_statements(template, "engine"), "states") == [
        ("states:StartExecution", _machine_arn("interaction"))
    ]


@pytest.mark.parametrize("key", sorted(d.FUNCTIONS))
def test_no_function_may_invoke_lambdas_or_use_wildcards_on_data(template: dict[str, Any], key: str) -> None:
    statements = _statements(template, key)
    assert grants(statements, "lambda") == []
    for service in ("dynamodb", "states", "s3", "events", "sns", "kms"):
        assert all(resource != "*" for _, resource in grants(statements, service)), service
    # "*" is left only to X-Ray, which has no resource-level permissions
    wildcard_actions = {
        action
        for statement in statements
        if "*" in statement["Resource"]
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    assert wildcard_actions <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def test_every_declared_handler_is_a_function_of_its_code_folder() -> None:
    # What Lambda's Python runtime does with Handler "handler.courier": import handler.py from the
    # code folder, take its attribute courier, call it with (event, context)
    import importlib.util

    from infra import constants as c

    for key, decl in d.FUNCTIONS.items():
        module_name, _, attribute = decl.handler.rpartition(".")
        path = c.FUNCTIONS_DIR / decl.code_dir / f"{module_name}.py"
        assert path.is_file(), (key, path)
        spec = importlib.util.spec_from_file_location(f"declared_{key}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert callable(getattr(module, attribute, None)), (key, decl.handler)
    # and the task functions share one module of entry points
    assert {decl.code_dir for decl in d.TASK_FUNCTIONS.values()} == {d.TASKS_CODE_DIR}
