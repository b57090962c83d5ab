"""The environment variables the CDK app (and the local runtime) sets on the functions."""

from __future__ import annotations

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
# Alerts: incidents and the outbox of their deliveries.
ENV_ALERT_TABLES = {"alerts": "SWITCHYARD_ALERTS_TABLE", "outbox": "SWITCHYARD_OUTBOX_TABLE"}
