"""The Lambda functions: their code, limits, and the least-privilege grants the CDK app derives."""

from __future__ import annotations

from dataclasses import dataclass, field

from switchyard.declarations.resources import SLACK_KIND, SLACK_STATE_KIND, SLACK_WEBHOOK_SECRETS_UNDER

LAMBDA_RUNTIME = "python3.12"


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


def function_name(key: str) -> str:
    """A function's name, the same on AWS and locally (the state machines' names are fixed too)."""
    return f"switchyard-{key.replace('_', '-')}"
