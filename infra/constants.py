"""Names and limits of the Switchyard stack, in one place.

What the application itself needs (table names, the event bus, environment variable names, the
Lambda runtime) is declared in :mod:`switchyard.declarations`; this module holds only what the
CDK app adds on top: paths, tags, retention, throttling and alarm thresholds.
"""

from __future__ import annotations

from pathlib import Path

from switchyard import declarations as d
from switchyard.observability import SERVICE

STACK_ID = "Switchyard"
STACK_DESCRIPTION = "Switchyard: serverless workflow operations (Step Functions, Lambda, DynamoDB)"

# Paths, all relative to the repository root.
REPO_ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS_DIR = REPO_ROOT / "functions"
SHARED_LAYER_DIR = REPO_ROOT / "layers" / "switchyard"
PYPROJECT = REPO_ROOT / "pyproject.toml"
# Never shipped in an asset.
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/*.egg-info", "**/.pytest_cache", "**/.mypy_cache"]

# Tags that let tools find resources in a synthesized template (see infra/describe.py).
TAG_TABLE = "switchyard:table"
TAG_WORKFLOW_TYPE = "switchyard:workflow-type"
TAG_FUNCTION = "switchyard:function"

# The dependencies layer: runtime dependencies from pyproject.toml, built for Lambda's platform.
# Lambda's Python 3.12 runtime runs on Amazon Linux 2023 (glibc 2.34): manylinux_2_28 wheels
# (duckdb >= 1.3 ships only those) run there, as do manylinux2014 (glibc 2.17) ones.
LAYER_EXCLUDED_DEPENDENCIES = frozenset({"boto3"})  # the Lambda runtime provides it
LAYER_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
LAYER_PYTHON_VERSION = d.LAMBDA_RUNTIME.removeprefix("python")  # "3.12"

# Powertools configuration shared by every function.
POWERTOOLS_ENV = {
    "POWERTOOLS_SERVICE_NAME": SERVICE,
    "POWERTOOLS_METRICS_NAMESPACE": "Switchyard",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
}

# Kept free of aws_cdk imports so that infra.describe loads without jsii: names of RetentionDays.
LOG_RETENTION = "ONE_MONTH"
STATE_MACHINE_LOG_GROUP_PREFIX = "/aws/vendedlogs/states/"

# API Gateway.
API_STAGE = "prod"
API_THROTTLING_RATE_LIMIT = 50  # requests per second, steady state, for the whole stage
API_THROTTLING_BURST_LIMIT = 100
API_PREFIX = "api"
CONSOLE_PREFIX = "console"
OPENAPI_PATH = "openapi.json"

# Data bucket.
NONCURRENT_VERSION_EXPIRATION_DAYS = 30
ACCESS_LOGS_EXPIRATION_DAYS = 90

# State machine alarms: one failed, throttled or aborted execution in a period raises the alarm.
ALARM_PERIOD_MINUTES = 5
ALARM_THRESHOLD = 1
