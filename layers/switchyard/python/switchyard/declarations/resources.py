"""The named resources the functions share: tables, the data bucket, the bus, secrets."""

from __future__ import annotations

from switchyard.declarations.environment import (
    ENV_ALERT_TABLES,
    ENV_CONFIG_TABLE,
    ENV_IDEMPOTENCY_TABLE,
    ENV_INTERACTION_TABLES,
    ENV_SCHEDULES_TABLE,
    ENV_TASKS_TABLE,
    ENV_TOKENS_TABLE,
    ENV_WORKFLOWS_TABLE,
)

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
TABLE_NAMES.update({logical: f"switchyard-{logical.replace('_', '-')}" for logical in ENV_INTERACTION_TABLES})
TABLE_ENV.update(ENV_INTERACTION_TABLES)
# Alerts: incidents and the outbox of their deliveries.
TABLE_NAMES.update({logical: f"switchyard-{logical}" for logical in ENV_ALERT_TABLES})
TABLE_ENV.update(ENV_ALERT_TABLES)
LOCAL_DATA_BUCKET = "switchyard-data"
EVENT_BUS_NAME = "switchyard"
EVENT_SOURCE = "switchyard"

# Slack through OAuth v2: the Slack app's client secret (``{"client_secret": ...}``), readable by the
# API function only; each connected channel's incoming webhook is a secret under
# ``switchyard/slack/<tenant>/``; the workspace and the pending installs are configuration items.
SLACK_OAUTH_SECRETS_UNDER = "slack-oauth/"
SLACK_CLIENT_SECRET = "switchyard/slack-oauth/client"  # noqa: S105 (a name)
SLACK_WEBHOOK_SECRETS_UNDER = "slack/"
SLACK_KIND = "slack"
SLACK_STATE_KIND = "slack_state"
SLACK_DEFAULT_BASE_URL = "https://slack.com"

# Exports' PGP recipient keys (public keys) are Secrets Manager secrets under this prefix.
PGP_SECRET_PREFIX = "switchyard/pgp/"  # noqa: S105 (a name)
# Our signing keys (private keys and passphrases): only the activity function reads them; the API
# and triggers functions, which check designs, may only ask whether one exists (DescribeSecret).
PGP_SIGNING_SECRET_PREFIX = "switchyard/pgp-signing/"  # noqa: S105 (a name)
# The Slack incoming webhook's URL is this Secrets Manager secret (under the switchyard/ prefix).
DEFAULT_SLACK_WEBHOOK_SECRET = "switchyard/alerts/slack-webhook"  # noqa: S105 (a name)
