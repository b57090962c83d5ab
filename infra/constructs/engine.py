"""Engine: the layers, one Lambda per declared function, one state machine per workflow type,
and the alarms that watch the machines.

Everything here is derived from :mod:`switchyard.declarations`: adding a ``FunctionDecl`` or a
``StateMachineDecl`` there adds its resources, environment and grants here.

Circular references are avoided by construction:

* state machine ARNs are built from the deterministic names of
  :func:`switchyard.declarations.state_machine_name` with ``Stack.format_arn``, never read from the
  ``StateMachine`` resources, so a function's environment or policy never depends on a machine
  (while each machine depends on the functions it invokes);
* ``SWITCHYARD_TASK_FUNCTIONS`` (task kind -> function ARN) is given to every function except the
  task functions themselves (a function cannot reference its own ARN).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    ArnFormat,
    AssetHashType,
    Aws,
    BundlingOptions,
    DockerImage,
    Duration,
    ILocalBundling,
    RemovalPolicy,
    Size,
    Stack,
    Tags,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from switchyard import declarations as d
from switchyard.data.models import TABLE_MODELS, key_schema
from switchyard.statemachines import load_definition, placeholders

from infra import constants as c
from infra import nag
from infra.constructs.data import Data
from infra.constructs.events import Events
from infra.nag import arn_of

RUNTIME = lambda_.Runtime(d.LAMBDA_RUNTIME, lambda_.RuntimeFamily.PYTHON)

# CDK context key, environment variable, lowest and highest value, whether 0 (off) is allowed.
TUNING_CONTEXT = (
    ("switchyard:interactive-check-seconds", d.ENV_INTERACTIVE_CHECK_SECONDS, 10, 3600, False),
    ("switchyard:handoff-events", d.ENV_HANDOFF_EVENTS, 1000, 24000, True),  # 0: never hands over
)

# Table logical name -> environment variable holding its physical name.
TABLE_ENV = d.TABLE_ENV
# Secrets Switchyard's functions may read (and the API write): destination credentials.
SECRETS_PREFIX = "switchyard/"

# What a function that starts executions may do with them (DESIGN.md section 3: start, stop,
# answer a waiting task token, read an execution's state).
STATE_MACHINE_ACTIONS = ["states:StartExecution", "states:SendTaskSuccess", "states:SendTaskFailure"]
EXECUTION_ACTIONS = ["states:StopExecution", "states:DescribeExecution"]
# The wildcard actions of Bucket.grant_read / grant_read_write, acknowledged one by one.
BUCKET_READ_ACTIONS = ("s3:GetObject*", "s3:GetBucket*", "s3:List*")
BUCKET_READ_WRITE_ACTIONS = (*BUCKET_READ_ACTIONS, "s3:DeleteObject*", "s3:Abort*")


def pascal(key: str) -> str:
    return "".join(part.title() for part in re.split(r"[_\-]", key))


def layer_requirements(pyproject: Path = c.PYPROJECT) -> list[str]:
    """The runtime dependencies of ``[project].dependencies``, less those Lambda provides."""
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = []
    for requirement in project["dependencies"]:
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
        if match is None:
            raise ValueError(f"cannot read the requirement {requirement!r}")
        if re.sub(r"[-_.]+", "-", match.group(0)).lower() not in c.LAYER_EXCLUDED_DEPENDENCIES:
            requirements.append(requirement)
    return requirements


def pip_command(requirements: list[str], target: str) -> list[str]:
    platforms = [arg for platform in c.LAYER_PLATFORMS for arg in ("--platform", platform)]
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",  # .pyc files would be compiled by this interpreter, not the Lambda's
        *platforms,
        "--implementation",
        "cp",
        "--python-version",
        c.LAYER_PYTHON_VERSION,
        "--only-binary=:all:",
        "--target",
        target,
        *requirements,
    ]


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    """Builds the dependencies layer with this machine's pip: no Docker needed.

    ``pip --platform/--only-binary`` picks Lambda's wheels whatever the build machine is.
    Failing here raises (with pip's output) rather than falling back to the Docker image.
    """

    def __init__(self, requirements: list[str]) -> None:
        self.requirements = requirements

    def try_bundle(self, output_dir: str, *, image: DockerImage, **options: Any) -> bool:
        command = pip_command(self.requirements, str(Path(output_dir) / "python"))
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise RuntimeError(
                f"building the dependencies layer failed ({' '.join(command)}):\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return True


class Engine(Construct):
    """``functions[key]``, ``state_machines[workflow type]``, the layers and the alarm topic."""

    def __init__(self, scope: Construct, construct_id: str, *, data: Data, events: Events) -> None:
        super().__init__(scope, construct_id)
        self.data = data
        self.events = events
        self.state_machine_arns = {
            workflow_type: self._state_machine_arn(workflow_type) for workflow_type in d.STATE_MACHINES
        }
        self.layers = [self._shared_layer(), self._dependencies_layer()]
        self.functions = {key: self._function(decl) for key, decl in d.FUNCTIONS.items()}
        self._wire_functions()
        self.alarm_topic = self._alarm_topic()
        self.state_machines = {
            workflow_type: self._state_machine(decl) for workflow_type, decl in d.STATE_MACHINES.items()
        }

    # ---- public wiring -------------------------------------------------------------------

    def set_console_url(self, url: str) -> None:
        """Alert links point at the console (known only once the API exists): ``url`` is the
        root the console is served under, as locally (the links add ``/console/...``)."""
        for function in self.functions.values():
            function.add_environment(d.ENV_CONSOLE_URL, url)

    # ---- layers --------------------------------------------------------------------------

    def _shared_layer(self) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            "SharedLayer",
            code=lambda_.Code.from_asset(str(c.SHARED_LAYER_DIR), exclude=c.ASSET_EXCLUDES),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_.Architecture.X86_64],
            description="switchyard: the domain package shared by every handler",
        )

    def _dependencies_layer(self) -> lambda_.LayerVersion:
        requirements = layer_requirements()
        # The hash is known before bundling (what pip is asked for, not what it produced), so a
        # synth into a cdk.out that already holds this bundle reuses it instead of running pip.
        digest = hashlib.sha256(json.dumps(pip_command(requirements, "python")[1:]).encode()).hexdigest()
        return lambda_.LayerVersion(
            self,
            "DependenciesLayer",
            code=lambda_.Code.from_asset(
                str(c.SHARED_LAYER_DIR),  # not read: the bundle is built from the requirements alone
                asset_hash_type=AssetHashType.CUSTOM,
                asset_hash=digest,
                bundling=BundlingOptions(
                    # Never pulled: local bundling always runs (and raises when pip fails).
                    image=DockerImage.from_registry("local-bundling-only"),
                    local=PipLocalBundling(requirements),
                ),
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_.Architecture.X86_64],
            description="Runtime dependencies: " + ", ".join(requirements),
        )

    # ---- functions -----------------------------------------------------------------------

    def _function(self, decl: d.FunctionDecl) -> lambda_.Function:
        code_dir = c.FUNCTIONS_DIR / decl.code_dir
        function = lambda_.Function(
            self,
            f"{pascal(decl.key)}Function",
            function_name=d.function_name(decl.key),
            description=decl.description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            handler=decl.handler,
            code=lambda_.Code.from_asset(str(code_dir), exclude=c.ASSET_EXCLUDES),
            layers=self.layers,
            memory_size=decl.memory_mb,
            timeout=Duration.seconds(decl.timeout_s),
            ephemeral_storage_size=Size.mebibytes(decl.scratch_mb),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=logs.LogGroup(
                self, f"{pascal(decl.key)}FunctionLogs", retention=logs.RetentionDays[c.LOG_RETENTION]
            ),
            environment={**c.POWERTOOLS_ENV, **decl.extra_env},
        )
        Tags.of(function.node.default_child).add(c.TAG_FUNCTION, decl.key)  # type: ignore[arg-type]
        nag.acknowledge(
            function,
            "AwsSolutions-L1",
            f"The runtime is pinned to {d.LAMBDA_RUNTIME} in switchyard.declarations, the version the "
            "dependencies layer is built for; upgrading it is a deliberate change.",
        )
        return function

    def _wire_functions(self) -> None:
        table_names = {TABLE_ENV[logical]: table.table_name for logical, table in self.data.tables.items()}
        # every machine's ARN is this and its fixed name (one short value: Lambda allows 4 KB of
        # environment); the task functions are called by their fixed names, so need no variable
        machine_prefix = Stack.of(self).format_arn(
            service="states",
            resource="stateMachine",
            resource_name="",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        tuning = self._tuning()
        for key, decl in d.FUNCTIONS.items():
            function = self.functions[key]
            env = {
                **table_names,
                d.ENV_DATA_BUCKET: self.data.bucket.bucket_name,
                d.ENV_EVENT_BUS: self.events.bus.event_bus_name,
            }
            if decl.start_executions:
                env[d.ENV_STATE_MACHINE_ARN_PREFIX] = machine_prefix
            env.update(tuning)
            for name, value in env.items():
                function.add_environment(name, value)
            self._grant(function, decl)

    def _tuning(self) -> dict[str, str]:
        """Engine settings a deployment may tune with CDK context (docs/interactions.md):
        ``switchyard:interactive-check-seconds`` and ``switchyard:handoff-events``."""
        env: dict[str, str] = {}
        for key, name, low, high, zero_ok in TUNING_CONTEXT:
            raw = self.node.try_get_context(key)
            if raw is None or raw == "":
                continue
            try:
                value = int(str(raw))
            except ValueError:
                raise ValueError(f"CDK context {key!r} must be a whole number, not {raw!r}.") from None
            if not (low <= value <= high or (zero_ok and value == 0)):
                raise ValueError(f"CDK context {key!r} must be between {low:,} and {high:,}, not {value:,}.")
            env[name] = str(value)
        return env

    def _grant(self, function: lambda_.Function, decl: d.FunctionDecl) -> None:
        """Least privilege, from the declaration's fields only."""
        unknown = (set(decl.tables_rw) | set(decl.tables_r)) - set(self.data.tables)
        if unknown:
            raise ValueError(f"function {decl.key}: unknown tables {sorted(unknown)}")
        for logical in decl.tables_rw:
            self.data.tables[logical].grant_read_write_data(function)
        for logical in decl.tables_r:
            if logical not in decl.tables_rw:
                self.data.tables[logical].grant_read_data(function)
        if decl.bucket == "read":
            self.data.bucket.grant_read(function)
        elif decl.bucket == "read_write":
            self.data.bucket.grant_read_write(function)
        elif decl.bucket:
            raise ValueError(f"function {decl.key}: bucket access is '', 'read' or 'read_write'")
        if decl.config_kinds_w:
            # Only items whose partition key (the kind) is listed: the API may replace the warehouse
            # catalog, never a courier's configuration. StringLike, for kinds named per item
            # (``subscriptions#<workflow id>``); a request's one leading key must match one of them.
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
                    resources=[self.data.tables["config"].table_arn],
                    conditions={
                        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(decl.config_kinds_w)}
                    },
                )
            )
        if decl.put_events:
            self.events.bus.grant_put_events_to(function)
        if decl.secrets:
            if decl.secrets not in ("read", "read_write"):
                raise ValueError(f"function {decl.key}: secrets access is '', 'read' or 'read_write'")
            actions = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
            if decl.secrets == "read_write":
                actions += ["secretsmanager:PutSecretValue", "secretsmanager:CreateSecret"]
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=actions,
                    resources=[self._secrets_arn(u) for u in (decl.secrets_under, *decl.secrets_also_under)],
                )
            )
        if decl.secrets_describe_under:
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["secretsmanager:DescribeSecret"],
                    resources=[self._secrets_arn(u) for u in decl.secrets_describe_under],
                )
            )
        if decl.secrets_delete_under:
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["secretsmanager:DeleteSecret"],
                    resources=[self._secrets_arn(u) for u in decl.secrets_delete_under],
                )
            )
        if decl.secrets and decl.secrets_under == "" and decl.secrets_denied_under:
            # granted all of switchyard/: all but these
            function.add_to_role_policy(
                iam.PolicyStatement(
                    effect=iam.Effect.DENY,
                    actions=[
                        "secretsmanager:GetSecretValue",
                        "secretsmanager:PutSecretValue",
                        "secretsmanager:CreateSecret",
                    ],
                    resources=[self._secrets_arn(u) for u in decl.secrets_denied_under],
                )
            )
        if decl.start_executions:
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=STATE_MACHINE_ACTIONS, resources=list(self.state_machine_arns.values())
                )
            )
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=EXECUTION_ACTIONS,
                    resources=[self._execution_arns(t) for t in d.STATE_MACHINES],
                )
            )
        if decl.continue_executions:
            # a run that carries on in a new execution of its own machine (docs/interactions.md)
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["states:StartExecution"],
                    resources=[self.state_machine_arns[t] for t in decl.continue_executions],
                )
            )
        self._acknowledge_function_findings(function, decl)

    def _acknowledge_function_findings(self, function: lambda_.Function, decl: d.FunctionDecl) -> None:
        """The wildcards that remain after least-privilege grants, each with its reason."""
        role = function.role
        assert role is not None
        nag.acknowledge(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            "AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs.",
        )
        nag.acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level "
            "permissions.",
        )
        for logical in dict.fromkeys((*decl.tables_rw, *decl.tables_r)):
            if key_schema(TABLE_MODELS[logical])["GlobalSecondaryIndexes"]:
                nag.acknowledge(
                    role,
                    f"AwsSolutions-IAM5[Resource::{arn_of(self.data.tables[logical])}/index/*]",
                    f"Queries on the global secondary indexes of the {logical} table, and of no other table.",
                )
        if decl.bucket:
            nag.acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{arn_of(self.data.bucket)}/*]",
                "Objects of the data bucket, and of no other bucket.",
            )
            actions = BUCKET_READ_ACTIONS if decl.bucket == "read" else BUCKET_READ_WRITE_ACTIONS
            for action in actions:
                nag.acknowledge(
                    role,
                    f"AwsSolutions-IAM5[Action::{action}]",
                    "An action group of CDK's Bucket.grant_read / grant_read_write, on the data bucket only.",
                )
        readable = (decl.secrets_under, *decl.secrets_also_under) if decl.secrets else ()
        for under in dict.fromkeys((*readable, *decl.secrets_describe_under, *decl.secrets_delete_under)):
            nag.acknowledge(
                role,
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:"
                f"<AWS::AccountId>:secret:{SECRETS_PREFIX}{under}*]",
                f"Only secrets under the {SECRETS_PREFIX}{under} prefix, named in configuration "
                "(destination credentials, exports' PGP public keys, Slack channels' webhooks).",
            )
        if decl.start_executions:
            for workflow_type in d.STATE_MACHINES:
                name = d.state_machine_name(workflow_type)
                nag.acknowledge(
                    role,
                    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
                    f"execution:{name}:*]",
                    f"Stop and describe executions of {name}: an execution ARN ends with the execution's "
                    "name, known only at run time.",
                )

    def _secrets_arn(self, under: str = "") -> str:
        return Stack.of(self).format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{SECRETS_PREFIX}{under}*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    # ---- state machines ------------------------------------------------------------------

    def _state_machine_arn(self, workflow_type: str) -> str:
        return Stack.of(self).format_arn(
            service="states",
            resource="stateMachine",
            resource_name=d.state_machine_name(workflow_type),
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def _execution_arns(self, workflow_type: str) -> str:
        return Stack.of(self).format_arn(
            service="states",
            resource="execution",
            resource_name=f"{d.state_machine_name(workflow_type)}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def _state_machine(self, decl: d.StateMachineDecl) -> sfn.StateMachine:
        definition = load_definition(decl.workflow_type)
        found = placeholders(definition)
        if found != decl.placeholders:
            raise ValueError(
                f"{decl.file_name}: placeholders {sorted(found)} but substitutions for "
                f"{sorted(decl.placeholders)}"
            )
        unknown = set(decl.invoked_functions) - set(self.functions)
        if unknown:
            raise ValueError(f"{decl.file_name}: unknown functions {sorted(unknown)}")
        name = d.state_machine_name(decl.workflow_type)
        construct_id = pascal(decl.workflow_type)
        log_group = logs.LogGroup(
            self,
            f"{construct_id}StateMachineLogs",
            log_group_name=c.STATE_MACHINE_LOG_GROUP_PREFIX + name,
            retention=logs.RetentionDays[c.LOG_RETENTION],
            # kept when the stack is deleted or the group replaced, but removed when the deploy
            # that created it rolls back: a fixed name kept then makes the next deploy fail
            # ("already exists"). CloudFormation's DeletionPolicy RetainExceptOnCreate.
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        machine = sfn.StateMachine(
            self,
            f"{construct_id}StateMachine",
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            # the partition goes into the definition as a reference (a Fn::Join CloudFormation
            # resolves), not as a substitution: validators read the service integrations' ARNs
            definition_body=sfn.DefinitionBody.from_string(
                definition.replace("${" + d.PARTITION_PLACEHOLDER + "}", Aws.PARTITION)
            ),
            definition_substitutions={
                placeholder: self.functions[key].function_arn
                for placeholder, key in decl.function_substitutions.items()
            },
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            tracing_enabled=True,
        )
        machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[self.functions[key].function_arn for key in decl.invoked_functions],
            )
        )
        Tags.of(machine.node.default_child).add(c.TAG_WORKFLOW_TYPE, decl.workflow_type)  # type: ignore[arg-type]
        nag.acknowledge(
            machine,
            "AwsSolutions-IAM5[Resource::*]",
            "CloudWatch Logs delivery (logs:CreateLogDelivery, ...) and X-Ray (xray:PutTraceSegments, ...) "
            "support no resource-level permissions.",
        )
        self._alarms(machine, decl.workflow_type)
        return machine

    # ---- alarms --------------------------------------------------------------------------

    def _alarm_topic(self) -> sns.Topic:
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Encrypts the Switchyard alarm topic",
            enable_key_rotation=True,
        )
        # CloudWatch alarms publish to the encrypted topic.
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        topic = sns.Topic(
            self, "AlarmTopic", display_name="Switchyard alarms", master_key=key, enforce_ssl=True
        )
        email = self.node.try_get_context("switchyard:alarm-email")
        if email:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic

    def _alarms(self, machine: sfn.StateMachine, workflow_type: str) -> None:
        period = Duration.minutes(c.ALARM_PERIOD_MINUTES)
        metrics = {
            "Failed": machine.metric_failed(period=period, statistic="Sum"),
            "Throttled": machine.metric_throttled(period=period, statistic="Sum"),
            "Aborted": machine.metric_aborted(period=period, statistic="Sum"),
        }
        action = cloudwatch_actions.SnsAction(self.alarm_topic)
        for what, metric in metrics.items():
            alarm = cloudwatch.Alarm(
                self,
                f"{pascal(workflow_type)}{what}Alarm",
                alarm_description=f"{workflow_type}: an execution was {what.lower()}",
                metric=metric,
                threshold=c.ALARM_THRESHOLD,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(action)
