"""Typed configuration, built once and lazily from the environment the CDK constructs set.

Nothing reads ``os.environ`` at import time: handlers call :func:`get_settings` when they run.
The variable names are declared in :mod:`switchyard.declarations` so that the CDK app, the local
runtime and this module agree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

from switchyard import declarations as d


@dataclass(frozen=True)
class Settings:
    region: str
    workflows_table: str
    tasks_table: str
    config_table: str
    idempotency_table: str
    tokens_table: str
    data_bucket: str
    event_bus: str
    # workflow type -> state machine ARN
    state_machines: dict[str, str] = field(default_factory=dict)
    # task kind -> Lambda function name or ARN
    task_functions: dict[str, str] = field(default_factory=dict)
    # task kind -> seconds its state waits for the Lambda before States.Timeout
    task_timeouts: dict[str, int] = field(
        default_factory=lambda: {
            kind: f.timeout_s + d.TASK_TIMEOUT_MARGIN_S for kind, f in d.TASK_FUNCTIONS.items()
        }
    )
    console_url: str = ""
    local_runtime: bool = False
    # how long a send waits before asking again for a destination that takes one send at a time
    exclusive_wait_seconds: int = 60
    schedules_table: str = d.TABLE_NAMES["schedules"]
    # the role EventBridge Scheduler assumes to invoke the triggers function, and that function
    scheduler_role_arn: str = ""
    triggers_function_arn: str = ""
    # table logical name -> physical name, for every table (interactions' tables included)
    table_names: dict[str, str] = field(default_factory=lambda: dict(d.TABLE_NAMES))
    # how often a paused interaction asks again whether it may play
    interaction_poll_seconds: int = 30
    # an interactive audience between cycles: each look is a few Step Functions history events
    interactive_check_seconds: int = 300
    # an interaction's execution hands over to a new one past this many (estimated) history
    # events, when its interactive audiences are between cycles; 0: never
    handoff_events: int = 15000
    # alerts: SES sender and reply-to, the Slack webhook (a secret's name, or locally a URL), and
    # the alerts function Scheduler invokes for retries and duration checks
    alerts_sender: str = ""
    alerts_reply_to: str = ""
    slack_webhook_secret: str = d.DEFAULT_SLACK_WEBHOOK_SECRET
    slack_webhook_url: str = ""
    alerts_function_arn: str = ""
    # Slack through OAuth v2 (docs/alerts.md, "Slack"): the Slack app's client id (none: the
    # deployment cannot connect a workspace), Slack's base URL, and the redirect URI registered
    # with the app ("" derives it from the request's host)
    slack_client_id: str = ""
    slack_base_url: str = d.SLACK_DEFAULT_BASE_URL
    slack_redirect_uri: str = ""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        return cls(
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            workflows_table=env.get(d.ENV_WORKFLOWS_TABLE, d.TABLE_NAMES["workflows"]),
            tasks_table=env.get(d.ENV_TASKS_TABLE, d.TABLE_NAMES["tasks"]),
            config_table=env.get(d.ENV_CONFIG_TABLE, d.TABLE_NAMES["config"]),
            idempotency_table=env.get(d.ENV_IDEMPOTENCY_TABLE, d.TABLE_NAMES["idempotency"]),
            tokens_table=env.get(d.ENV_TOKENS_TABLE, d.TABLE_NAMES["tokens"]),
            data_bucket=env.get(d.ENV_DATA_BUCKET, d.LOCAL_DATA_BUCKET),
            event_bus=env.get(d.ENV_EVENT_BUS, d.EVENT_BUS_NAME),
            state_machines=state_machine_arns(env.get(d.ENV_STATE_MACHINE_ARN_PREFIX, "")),
            task_functions={kind: d.function_name(kind) for kind in d.TASK_FUNCTIONS},
            console_url=env.get(d.ENV_CONSOLE_URL, "").rstrip("/"),
            local_runtime=env.get(d.ENV_LOCAL_RUNTIME, "") == "1",
            exclusive_wait_seconds=int(env.get(d.ENV_EXCLUSIVE_WAIT_SECONDS) or 60),
            schedules_table=env.get(d.ENV_SCHEDULES_TABLE, d.TABLE_NAMES["schedules"]),
            scheduler_role_arn=env.get(d.ENV_SCHEDULER_ROLE_ARN, ""),
            triggers_function_arn=env.get(d.ENV_TRIGGERS_FUNCTION_ARN, ""),
            table_names={
                logical: env.get(variable, d.TABLE_NAMES[logical])
                for logical, variable in d.TABLE_ENV.items()
            },
            interaction_poll_seconds=int(env.get(d.ENV_INTERACTION_POLL_SECONDS) or 30),
            interactive_check_seconds=int(env.get(d.ENV_INTERACTIVE_CHECK_SECONDS) or 300),
            handoff_events=int(env.get(d.ENV_HANDOFF_EVENTS) or 15000),
            alerts_sender=env.get(d.ENV_ALERTS_SENDER, ""),
            alerts_reply_to=env.get(d.ENV_ALERTS_REPLY_TO, ""),
            slack_webhook_secret=env.get(d.ENV_SLACK_WEBHOOK_SECRET) or d.DEFAULT_SLACK_WEBHOOK_SECRET,
            slack_webhook_url=env.get(d.ENV_SLACK_WEBHOOK_URL, ""),
            alerts_function_arn=env.get(d.ENV_ALERTS_FUNCTION_ARN, ""),
            slack_client_id=env.get(d.ENV_SLACK_CLIENT_ID, ""),
            slack_base_url=(env.get(d.ENV_SLACK_BASE_URL) or d.SLACK_DEFAULT_BASE_URL).rstrip("/"),
            slack_redirect_uri=env.get(d.ENV_SLACK_REDIRECT_URI, ""),
        )


def state_machine_arns(prefix: str) -> dict[str, str]:
    """workflow type -> ARN, from the ARN prefix the deployment passes (none: no machines)."""
    if not prefix:
        return {}
    return {workflow_type: prefix + d.state_machine_name(workflow_type) for workflow_type in d.STATE_MACHINES}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()


def reset_settings() -> None:
    """Forget the cached settings (the local runtime and tests change the environment)."""
    get_settings.cache_clear()
