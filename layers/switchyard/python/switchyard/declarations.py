"""What Switchyard deploys, declared once.

The CDK constructs (``infra/``) and the local runtime (:mod:`switchyard.local`) both build their
resources from these declarations; ``tests/infra`` proves that the synthesized template and the
local runtime agree. Table key schemas are not repeated here: they come from the PynamoDB models
in :mod:`switchyard.data.models`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Environment variables set on every Lambda by the CDK app (and by the local runtime).
ENV_WORKFLOWS_TABLE = "SWITCHYARD_WORKFLOWS_TABLE"
ENV_TASKS_TABLE = "SWITCHYARD_TASKS_TABLE"
ENV_CONFIG_TABLE = "SWITCHYARD_CONFIG_TABLE"
ENV_IDEMPOTENCY_TABLE = "SWITCHYARD_IDEMPOTENCY_TABLE"
ENV_TOKENS_TABLE = "SWITCHYARD_TOKENS_TABLE"
ENV_DATA_BUCKET = "SWITCHYARD_DATA_BUCKET"
ENV_EVENT_BUS = "SWITCHYARD_EVENT_BUS"
# The ARN of a state machine less its name (``arn:aws:states:<region>:<account>:stateMachine:``):
# each machine's ARN is this and :func:`state_machine_name`. One short value, not 13 ARNs: Lambda
# refuses a function whose environment passes 4 KB. Task functions are reached by their names
# (:func:`function_name`), which are fixed, so they need no variable at all.
ENV_STATE_MACHINE_ARN_PREFIX = "SWITCHYARD_STATE_MACHINE_ARN_PREFIX"
ENV_CONSOLE_URL = "SWITCHYARD_CONSOLE_URL"
ENV_LOCAL_RUNTIME = "SWITCHYARD_LOCAL_RUNTIME"
ENV_EXCLUSIVE_WAIT_SECONDS = "SWITCHYARD_EXCLUSIVE_WAIT_SECONDS"
ENV_SCHEDULES_TABLE = "SWITCHYARD_SCHEDULES_TABLE"
ENV_SCHEDULER_ROLE_ARN = "SWITCHYARD_SCHEDULER_ROLE_ARN"
ENV_TRIGGERS_FUNCTION_ARN = "SWITCHYARD_TRIGGERS_FUNCTION_ARN"
ENV_INTERACTION_POLL_SECONDS = "SWITCHYARD_INTERACTION_POLL_SECONDS"
# how long an interactive audience waits at most between two looks at its next cycle
ENV_INTERACTIVE_CHECK_SECONDS = "SWITCHYARD_INTERACTIVE_CHECK_SECONDS"
# the history events an interaction's execution may reach (estimated) before an interactive
# audience between cycles hands the run over to a new execution (AWS allows 25,000)
ENV_HANDOFF_EVENTS = "SWITCHYARD_HANDOFF_EVENTS"
# Alerts (docs/alerts.md): the SES sender and reply-to, the Slack webhook's secret (or, locally, a
# URL), and the alerts function that Scheduler invokes for retries and duration checks.
ENV_ALERTS_SENDER = "SWITCHYARD_ALERTS_SENDER"
ENV_ALERTS_REPLY_TO = "SWITCHYARD_ALERTS_REPLY_TO"
ENV_SLACK_WEBHOOK_SECRET = "SWITCHYARD_SLACK_WEBHOOK_SECRET"  # noqa: S105 (a name)
ENV_SLACK_WEBHOOK_URL = "SWITCHYARD_SLACK_WEBHOOK_URL"
ENV_ALERTS_FUNCTION_ARN = "SWITCHYARD_ALERTS_FUNCTION_ARN"
# Slack workspaces connected through OAuth v2 (docs/alerts.md, "Slack"): the Slack app's client id
# (CDK context ``switchyard:slack-client-id``), Slack's base URL (a stand-in in tests and, if you
# like, locally), and the redirect URI registered with the app when it is not derived from the
# request. The client secret is the Secrets Manager secret ``SLACK_CLIENT_SECRET``, never a variable
# on AWS; locally ``SWITCHYARD_SLACK_CLIENT_SECRET`` is put into the emulated Secrets Manager.
ENV_SLACK_CLIENT_ID = "SWITCHYARD_SLACK_CLIENT_ID"
ENV_SLACK_BASE_URL = "SWITCHYARD_SLACK_BASE_URL"
ENV_SLACK_REDIRECT_URI = "SWITCHYARD_SLACK_REDIRECT_URI"
ENV_SLACK_CLIENT_SECRET_LOCAL = "SWITCHYARD_SLACK_CLIENT_SECRET"  # noqa: S105 (a name)

# Logical table names; on AWS CloudFormation names the tables and passes the names in the
# environment, locally these names are used as they are.
TABLE_NAMES = {
    "workflows": "switchyard-workflows",
    "tasks": "switchyard-tasks",
    "config": "switchyard-config",
    "idempotency": "switchyard-idempotency",
    "tokens": "switchyard-tokens",
    "schedules": "switchyard-schedules",
}
# Table logical name -> the environment variable that holds its physical name.
TABLE_ENV = {
    "workflows": ENV_WORKFLOWS_TABLE,
    "tasks": ENV_TASKS_TABLE,
    "config": ENV_CONFIG_TABLE,
    "idempotency": ENV_IDEMPOTENCY_TABLE,
    "tokens": ENV_TOKENS_TABLE,
    "schedules": ENV_SCHEDULES_TABLE,
}
# Interactions (docs/interactions.md): designs, instances, offer history, its meta and details.
ENV_INTERACTION_TABLES = {
    "interactions": "SWITCHYARD_INTERACTIONS_TABLE",
    "interaction_instances": "SWITCHYARD_INTERACTION_INSTANCES_TABLE",
    "offer_history": "SWITCHYARD_OFFER_HISTORY_TABLE",
    "offer_history_meta": "SWITCHYARD_OFFER_HISTORY_META_TABLE",
    "offer_history_details": "SWITCHYARD_OFFER_HISTORY_DETAILS_TABLE",
    # prioritization: the tenant's settings, the slots activities hold and the queue
    "interaction_priority": "SWITCHYARD_INTERACTION_PRIORITY_TABLE",
}
TABLE_NAMES.update({logical: f"switchyard-{logical.replace('_', '-')}" for logical in ENV_INTERACTION_TABLES})
TABLE_ENV.update(ENV_INTERACTION_TABLES)
# Alerts: incidents and the outbox of their deliveries.
ENV_ALERT_TABLES = {"alerts": "SWITCHYARD_ALERTS_TABLE", "outbox": "SWITCHYARD_OUTBOX_TABLE"}
TABLE_NAMES.update({logical: f"switchyard-{logical}" for logical in ENV_ALERT_TABLES})
TABLE_ENV.update(ENV_ALERT_TABLES)
LOCAL_DATA_BUCKET = "switchyard-data"
EVENT_BUS_NAME = "switchyard"
EVENT_SOURCE = "switchyard"

LAMBDA_RUNTIME = "python3.12"

# Slack through OAuth v2: the Slack app's client secret (``{"client_secret": ...}``), readable by the
# API function only; each connected channel's incoming webhook is a secret under
# ``switchyard/slack/<tenant>/``; the workspace and the pending installs are configuration items.
SLACK_OAUTH_SECRETS_UNDER = "slack-oauth/"
SLACK_CLIENT_SECRET = "switchyard/slack-oauth/client"  # noqa: S105 (a name)
SLACK_WEBHOOK_SECRETS_UNDER = "slack/"
SLACK_KIND = "slack"
SLACK_STATE_KIND = "slack_state"
SLACK_DEFAULT_BASE_URL = "https://slack.com"


@dataclass(frozen=True)
class FunctionDecl:
    """One Lambda function: its code folder under ``functions/`` and its handler."""

    key: str
    code_dir: str
    description: str
    handler: str = "handler.lambda_handler"
    memory_mb: int = 512
    timeout_s: int = 60
    # /tmp, in MB (Lambda's default is 512): DuckDB's working files and the Parquet it reads
    scratch_mb: int = 512
    # Which data the function may touch; the CDK app turns these into least-privilege grants.
    tables_rw: tuple[str, ...] = ()
    tables_r: tuple[str, ...] = ()
    bucket: str = ""  # "", "read", "read_write"
    # Secrets Manager secrets under the ``switchyard/`` prefix: "", "read", "read_write"
    secrets: str = ""
    # Narrows ``secrets`` to names under ``switchyard/<secrets_under>`` (e.g. "pgp/"); "" for all.
    secrets_under: str = ""
    # More prefixes under ``switchyard/`` the function reads (with ``secrets_under``'s grant).
    secrets_also_under: tuple[str, ...] = ()
    # Prefixes under ``switchyard/`` whose secrets the function may describe (do they exist?), not read.
    secrets_describe_under: tuple[str, ...] = ()
    # Prefixes under ``switchyard/`` whose values the function may never read or write: an explicit
    # Deny, stronger than a grant on all of ``switchyard/`` (our PGP signing keys, by default: only
    # the activity function, which signs, clears it).
    secrets_denied_under: tuple[str, ...] = ("pgp-signing/", "slack-oauth/")
    # Prefixes under ``switchyard/`` whose secrets the function may delete (a disconnected Slack
    # workspace's webhooks).
    secrets_delete_under: tuple[str, ...] = ()
    put_events: bool = False
    start_executions: bool = False
    # Creates, changes and removes EventBridge Scheduler schedules (passes the Scheduler's role).
    manage_schedules: bool = False
    # Creates, reads and removes schedules in the tenants' interaction groups only
    # (``switchyard-<tenant>-interactions``) and passes the Scheduler's role: trigger retries,
    # constraint checks, removing a trigger's schedule after its last fire.
    manage_interaction_schedules: bool = False
    # Sends email through SES from the configured sender identity.
    send_email: bool = False
    # Writes configuration items of these kinds only (an IAM condition on the partition key,
    # matched as IAM's StringLike: ``subscriptions#*`` is every run's subscriptions kind).
    config_kinds_w: tuple[str, ...] = ()
    # Environment variables beyond the shared ones.
    extra_env: dict[str, str] = field(default_factory=dict)
    # Workflow types whose machine the function may start again for a run it carries on (a new
    # execution continuing one near the history-event limit): states:StartExecution only.
    continue_executions: tuple[str, ...] = ()


# How long a task's state waits for its Lambda beyond the function's own timeout before it fails
# States.Timeout (the invoke's own overhead; a function that times out fails first, on its own).
TASK_TIMEOUT_MARGIN_S = 30
DEFAULT_TASK_TIMEOUT_S = 900 + TASK_TIMEOUT_MARGIN_S

# /tmp for the task functions: each works through DuckDB, which spills to disk and reads its tables
# from files it downloads there (the 512 MB default would end a large table's run).
TASK_SCRATCH_MB = 4096

# Every task function's code: one module of entry points (functions/tasks/handler.py), one per
# kind, named by each declaration's ``handler``.
TASKS_CODE_DIR = "tasks"

# Task kinds: the Lambda that does one kind of work in a workflow.
TASK_FUNCTIONS: dict[str, FunctionDecl] = {
    "courier": FunctionDecl(
        key="courier",
        code_dir=TASKS_CODE_DIR,
        handler="handler.courier",
        description="Courier: locate today's files, pull them, refresh the domain table",
        memory_mb=1024,
        timeout_s=900,
        scratch_mb=TASK_SCRATCH_MB,
        tables_r=("config",),
        bucket="read_write",
    ),
    "stitch": FunctionDecl(
        key="stitch",
        code_dir=TASKS_CODE_DIR,
        handler="handler.stitch",
        description="Stitch: deterministic identity resolution over the domain tables",
        memory_mb=2048,
        timeout_s=900,
        scratch_mb=TASK_SCRATCH_MB,
        bucket="read_write",
    ),
    "database": FunctionDecl(
        key="database",
        code_dir=TASKS_CODE_DIR,
        handler="handler.database",
        description="Database: build tables with the tenant's SQL and check query thresholds",
        memory_mb=2048,
        timeout_s=900,
        scratch_mb=TASK_SCRATCH_MB,
        bucket="read_write",
    ),
    "ingest": FunctionDecl(
        key="ingest",
        code_dir=TASKS_CODE_DIR,
        handler="handler.ingest",
        description="Ingest: load dropped files (CSV, zip, gzip) into domain tables, checking their schema",
        memory_mb=2048,
        timeout_s=900,
        scratch_mb=TASK_SCRATCH_MB,
        bucket="read_write",
    ),
    "ccpa": FunctionDecl(
        key="ccpa",
        code_dir=TASKS_CODE_DIR,
        handler="handler.ccpa",
        description="CCPA delete: remove one person's records from tables, customers and audiences",
        memory_mb=2048,
        timeout_s=900,
        scratch_mb=TASK_SCRATCH_MB,
        bucket="read_write",
    ),
    "validation": FunctionDecl(
        key="validation",
        code_dir=TASKS_CODE_DIR,
        handler="handler.validation",
        description="Input validation: row counts and empty shares against thresholds, as a report",
        memory_mb=1024,
        timeout_s=900,
        scratch_mb=TASK_SCRATCH_MB,
        bucket="read_write",
    ),
    "index": FunctionDecl(
        key="index",
        code_dir=TASKS_CODE_DIR,
        handler="handler.index",
        description="Index: rebuild lookup indexes of the customer table",
        memory_mb=1024,
        timeout_s=900,
        scratch_mb=TASK_SCRATCH_MB,
        bucket="read_write",
    ),
    "audience": FunctionDecl(
        key="audience",
        code_dir=TASKS_CODE_DIR,
        handler="handler.audience",
        description="Audience: select a campaign's or orchestration's audience with SQL",
        memory_mb=2048,
        timeout_s=900,
        scratch_mb=TASK_SCRATCH_MB,
        bucket="read_write",
    ),
    "deliver": FunctionDecl(
        key="deliver",
        code_dir=TASKS_CODE_DIR,
        handler="handler.deliver",
        description="Deliver: send an audience to a destination (S3, SFTP, webhook, platforms)",
        memory_mb=1024,
        timeout_s=900,
        scratch_mb=TASK_SCRATCH_MB,
        bucket="read_write",
        secrets="read",
    ),
    "activity": FunctionDecl(
        key="activity",
        code_dir=TASKS_CODE_DIR,
        handler="handler.activity",
        description="Interaction activity: select audiences, record offer history, export files",
        memory_mb=2048,
        timeout_s=900,
        scratch_mb=TASK_SCRATCH_MB,
        tables_rw=("interaction_instances", "offer_history", "offer_history_meta", "offer_history_details"),
        tables_r=("config",),
        bucket="read_write",
        secrets="read",  # an encrypted export reads its recipients' public keys and its signing key
        secrets_under="pgp/",
        # a delivered export reads its destination's credentials (docs/interactions.md)
        secrets_also_under=("destinations/", "pgp-signing/"),
        secrets_denied_under=(),  # it signs exports
    ),
    "customer_360": FunctionDecl(
        key="customer_360",
        code_dir=TASKS_CODE_DIR,
        handler="handler.customer_360",
        description="Customer 360: build the customer table from the stitched domain tables",
        memory_mb=2048,
        timeout_s=900,
        scratch_mb=TASK_SCRATCH_MB,
        bucket="read_write",
    ),
}

ENGINE_FUNCTION = FunctionDecl(
    key="engine",
    code_dir="engine",
    description="Engine: plan runs, record task states, wait for resolutions, finish runs",
    timeout_s=60,
    tables_rw=("workflows", "tasks", "interaction_instances", "interaction_priority"),
    tables_r=("config",),
    config_kinds_w=("lock",),  # destinations that take one send at a time (LockRepository)
    bucket="read",  # a wait for event's database counts read the warehouse
    put_events=True,
    # a long interactive interaction carries on in a new execution (docs/interactions.md)
    continue_executions=("interaction",),
)

API_FUNCTION = FunctionDecl(
    key="api",
    code_dir="api",
    description="REST API: start, list, read, stop and resolve workflows; manage schedules",
    # under API Gateway's 29 s integration timeout, so a slow request ends in the function's own
    # answer and log line rather than a gateway 504 while the function still runs
    timeout_s=25,
    tables_rw=(
        "workflows",
        "tasks",
        "idempotency",
        "schedules",
        "interactions",
        "interaction_instances",
        "offer_history",
        "offer_history_meta",
        "offer_history_details",
        "interaction_priority",
        "tokens",  # /api/tokens issues and revokes; every call records its token's last use
    ),
    tables_r=("config", "alerts", "outbox"),
    # the warehouse catalog (PUT /api/warehouse/catalog); a stopped run releases its locks; the
    # tenant's allowed email domains (PUT /api/settings/allowed-domains); who changed a
    # credential last (PUT /api/credentials/{name}, never its value); the automated alert
    # settings (PUT /api/alerts/automated) and each run's subscriptions (data/alerts.py); the
    # tenant's Slack workspace and the pending OAuth states of its installs (/api/slack)
    config_kinds_w=(
        "warehouse",
        "lock",
        "tenant",
        "credential",
        "alert_settings",
        "subscriptions#*",
        SLACK_KIND,
        SLACK_STATE_KIND,
    ),
    bucket="read_write",  # interactions: read the warehouse catalog, remove rolled-back exports
    put_events=True,
    start_executions=True,
    secrets="read_write",  # the update_credentials resolution stores new credentials
    # (saving a design checks that its signing keys exist: DescribeSecret, never their values)
    # It reads the Slack app's client secret (the OAuth exchange), never our PGP signing keys.
    secrets_denied_under=("pgp-signing/",),
    # a disconnected Slack workspace's webhooks are deleted
    secrets_delete_under=(SLACK_WEBHOOK_SECRETS_UNDER,),
    manage_schedules=True,
)

# What EventBridge Scheduler schedules and the run-after rule invoke: starts runs as "automated".
TRIGGERS_FUNCTION = FunctionDecl(
    key="triggers",
    code_dir="triggers",
    description="Triggers: start scheduled runs and interactions; orchestration groups after courier groups",
    timeout_s=60,
    # (interaction_priority, lock: settling an interrupted run releases its slots and locks)
    tables_rw=(
        "workflows",
        "tasks",
        "idempotency",
        "interactions",
        "interaction_instances",
        "interaction_priority",
    ),
    tables_r=("config", "schedules"),
    config_kinds_w=("lock",),
    put_events=True,
    start_executions=True,
    # interaction triggers: retries of a fire that could not start, constraint checks, and the
    # removal of a trigger's schedule after its last fire
    manage_interaction_schedules=True,
    bucket="read",  # trigger constraints count records in the warehouse
    # a fire validates the design again, and that checks exports' PGP public keys (and that the
    # signing keys exist)
    secrets="read",
    secrets_under="pgp/",
    secrets_describe_under=("pgp-signing/",),
)

# Alerts: the bus's status changes, Scheduler's retries and duration checks come here; it
# records incidents, writes the outbox and delivers email (SES) and Slack (incoming webhooks).
ALERTS_FUNCTION = FunctionDecl(
    key="alerts",
    code_dir="alerts",
    description="Alerts: failures, successes, durations, thresholds, stops, warnings by email and Slack",
    timeout_s=60,
    tables_rw=("alerts", "outbox"),
    tables_r=("config", "workflows", "tasks"),
    secrets="read",
    manage_schedules=True,
    send_email=True,
)

FUNCTIONS: dict[str, FunctionDecl] = {
    "api": API_FUNCTION,
    "engine": ENGINE_FUNCTION,
    "triggers": TRIGGERS_FUNCTION,
    "alerts": ALERTS_FUNCTION,
    **TASK_FUNCTIONS,
}


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


def function_name(key: str) -> str:
    """A function's name, the same on AWS and locally (the state machines' names are fixed too)."""
    return f"switchyard-{key.replace('_', '-')}"


# --- schedules ---------------------------------------------------------------------------------

# Each tenant's schedules live in the EventBridge Scheduler schedule group ``switchyard-<tenant>``.
SCHEDULE_GROUP_PREFIX = "switchyard-"
# The EventBridge rule on the bus that starts "run after" orchestration groups: a courier group
# run that succeeded goes to the triggers function, which starts the groups set to follow it.
RUN_AFTER_RULE_NAME = "switchyard-run-after-courier-group"
RUN_AFTER_PATTERN: dict[str, object] = {
    "source": [EVENT_SOURCE],
    "detail-type": ["Workflow Status Changed"],
    "detail": {"type": ["courier_group"], "status": ["succeeded"]},
}
RUN_AFTER_TARGET = "triggers"  # the function key the rule invokes
# Step Functions' own status changes, on the account's default bus: an execution of one of
# Switchyard's machines that ended under its run (aborted by hand, timed out, failed) goes to the
# triggers function, which settles that run (services/interrupted.py). The CDK app adds the
# machines' ARNs (``detail.stateMachineArn``); locally the runtime sweeps at start instead.
EXECUTION_ENDED_RULE_NAME = "switchyard-execution-ended"
EXECUTION_ENDED_STATUSES = ("ABORTED", "TIMED_OUT", "FAILED")
EXECUTION_ENDED_PATTERN: dict[str, object] = {
    "source": ["aws.states"],
    "detail-type": ["Step Functions Execution Status Change"],
    "detail": {"status": list(EXECUTION_ENDED_STATUSES)},
}
EXECUTION_ENDED_TARGET = "triggers"
# Interaction instances that end go to the triggers function too: activity-state triggers.
INSTANCE_ENDED_RULE_NAME = "switchyard-interaction-instance-ended"
INSTANCE_ENDED_PATTERN: dict[str, object] = {
    "source": [EVENT_SOURCE],
    "detail-type": ["Workflow Status Changed"],
    "detail": {"type": ["interaction"], "status": ["succeeded", "failed", "stopped"]},
}
# An interaction activity that completed or failed goes to the triggers function: activity-state
# triggers that watch one activity (services/interactions/activity_triggers.py).
ACTIVITY_STATE_DETAIL_TYPE = "Interaction Activity State Changed"
ACTIVITY_STATE_RULE_NAME = "switchyard-interaction-activity-state"
ACTIVITY_STATE_PATTERN: dict[str, object] = {
    "source": [EVENT_SOURCE],
    "detail-type": [ACTIVITY_STATE_DETAIL_TYPE],
    "detail": {"type": ["interaction"], "state": ["Completed", "Failed"]},
}


def schedule_group(tenant: str) -> str:
    return f"{SCHEDULE_GROUP_PREFIX}{tenant}"


def interaction_schedule_group(tenant: str) -> str:
    """Where the scheduled and recurring triggers of a tenant's interactions live."""
    return f"{SCHEDULE_GROUP_PREFIX}{tenant}-interactions"


# --- alerts ------------------------------------------------------------------------------------

# The rule on the bus that sends every run's status change to the alerts function.
ALERTS_RULE_NAME = "switchyard-alerts"
ALERTS_PATTERN: dict[str, object] = {
    "source": [EVENT_SOURCE],
    "detail-type": ["Workflow Status Changed"],
    "detail": {"status": ["running", "failed", "succeeded", "stopped"]},
}
ALERTS_TARGET = "alerts"
# Retries of a delivery and duration checks are one-time Scheduler schedules in this group.
ALERTS_SCHEDULE_GROUP = "switchyard-system-alerts"
# Exports' PGP recipient keys (public keys) are Secrets Manager secrets under this prefix.
PGP_SECRET_PREFIX = "switchyard/pgp/"  # noqa: S105 (a name)
# Our signing keys (private keys and passphrases): only the activity function reads them; the API
# and triggers functions, which check designs, may only ask whether one exists (DescribeSecret).
PGP_SIGNING_SECRET_PREFIX = "switchyard/pgp-signing/"  # noqa: S105 (a name)
# The Slack incoming webhook's URL is this Secrets Manager secret (under the switchyard/ prefix).
DEFAULT_SLACK_WEBHOOK_SECRET = "switchyard/alerts/slack-webhook"  # noqa: S105 (a name)
