"""One state machine per workflow type, and what each may invoke."""

from __future__ import annotations

from dataclasses import dataclass

# Filled with the deployment's partition (CloudFormation's AWS::Partition; "aws" locally).
PARTITION_PLACEHOLDER = "Partition"


@dataclass(frozen=True)
class StateMachineDecl:
    """One state machine per workflow type, loaded from ``statemachines/<type>.asl.json``.

    ``function_substitutions`` maps an ASL ``${Placeholder}`` to the key of the function whose
    ARN fills it. Every machine also has ``${Partition}`` (service integrations are
    ``arn:${Partition}:states:::lambda:invoke``: ``aws``, ``aws-cn``, ``aws-us-gov``).
    """

    workflow_type: str
    function_substitutions: dict[str, str]
    # Task kinds the machine runs through the task pattern (it may invoke their functions).
    task_kinds: tuple[str, ...] = ()

    @property
    def file_name(self) -> str:
        return f"{self.workflow_type}.asl.json"

    @property
    def placeholders(self) -> set[str]:
        """Every ``${Placeholder}`` the machine's definition holds."""
        return {*self.function_substitutions, PARTITION_PLACEHOLDER}

    @property
    def invoked_functions(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.function_substitutions.values()) | set(self.task_kinds)))


STATE_MACHINES: dict[str, StateMachineDecl] = {
    "courier_group": StateMachineDecl(
        workflow_type="courier_group",
        function_substitutions={"EngineFunctionArn": "engine"},
        task_kinds=("courier", "stitch", "customer_360"),
    ),
    "courier": StateMachineDecl(
        workflow_type="courier",
        function_substitutions={"EngineFunctionArn": "engine"},
        task_kinds=("courier",),
    ),
    "database": StateMachineDecl(
        workflow_type="database",
        function_substitutions={"EngineFunctionArn": "engine"},
        task_kinds=("database",),
    ),
    **{
        wtype: StateMachineDecl(
            workflow_type=wtype,
            function_substitutions={"EngineFunctionArn": "engine"},
            task_kinds=("audience", "deliver"),
        )
        for wtype in ("campaign_send", "orchestration", "orchestration_group")
    },
    **{
        wtype: StateMachineDecl(
            workflow_type=wtype,
            function_substitutions={"EngineFunctionArn": "engine"},
            task_kinds=("ingest",),
        )
        for wtype in ("file_upload", "ingest")
    },
    "data_refresh": StateMachineDecl(
        workflow_type="data_refresh",
        function_substitutions={"EngineFunctionArn": "engine"},
        task_kinds=("stitch", "customer_360", "database"),
    ),
    "ccpa_delete": StateMachineDecl(
        workflow_type="ccpa_delete",
        function_substitutions={"EngineFunctionArn": "engine"},
        task_kinds=("ccpa",),
    ),
    "input_validation_report": StateMachineDecl(
        workflow_type="input_validation_report",
        function_substitutions={"EngineFunctionArn": "engine"},
        task_kinds=("validation",),
    ),
    "interaction": StateMachineDecl(
        workflow_type="interaction",
        function_substitutions={"EngineFunctionArn": "engine"},
        task_kinds=("activity",),
    ),
    "manual_index_run": StateMachineDecl(
        workflow_type="manual_index_run",
        function_substitutions={"EngineFunctionArn": "engine"},
        task_kinds=("index",),
    ),
}


def state_machine_name(workflow_type: str) -> str:
    return f"switchyard-{workflow_type.replace('_', '-')}"
