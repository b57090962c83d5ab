"""Workflow types: each names how it plans its stages and tasks (plans/) and refreshes inputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from switchyard.domain.interactions.design import plan_interaction
from switchyard.domain.models import PlannedStage
from switchyard.domain.plans.config import ConfigSource, unchanged
from switchyard.domain.plans.data import (
    plan_courier,
    plan_courier_group,
    plan_data_refresh,
    plan_database,
    plan_file_upload,
    plan_ingest,
    refresh_courier_group_inputs,
    refresh_data_refresh_inputs,
    refresh_database_inputs,
    refresh_ingest_inputs,
)
from switchyard.domain.plans.maintenance import (
    plan_ccpa_delete,
    plan_index_run,
    plan_validation,
    prepare_ccpa_config,
    refresh_validation_inputs,
)
from switchyard.domain.plans.sends import (
    plan_campaign_send,
    plan_orchestration,
    plan_orchestration_group,
    refresh_send_inputs,
)


def _same(config: dict[str, Any] | None) -> dict[str, Any] | None:
    return config


@dataclass(frozen=True)
class WorkflowType:
    name: str
    title: str
    # (workflow name, config override, run date, configuration) -> stages
    plan: Callable[[str, dict[str, Any] | None, datetime, ConfigSource], list[PlannedStage]]
    # kind -> (task inputs, run date, configuration) -> inputs from the *current* configuration
    refresh_inputs: Callable[[str, dict[str, Any], ConfigSource], dict[str, Any]]
    # the request's config as it may be stored (e.g. personal data replaced by a hash)
    prepare_config: Callable[[dict[str, Any] | None], dict[str, Any] | None] = _same


WORKFLOW_TYPES: dict[str, WorkflowType] = {
    "interaction": WorkflowType(
        name="interaction",
        title="Interaction",
        plan=plan_interaction,
        refresh_inputs=unchanged,
    ),
    "data_refresh": WorkflowType(
        name="data_refresh",
        title="Data refresh",
        plan=plan_data_refresh,
        refresh_inputs=refresh_data_refresh_inputs,
    ),
    "ccpa_delete": WorkflowType(
        name="ccpa_delete",
        title="CCPA delete",
        plan=plan_ccpa_delete,
        refresh_inputs=unchanged,
        prepare_config=prepare_ccpa_config,
    ),
    "input_validation_report": WorkflowType(
        name="input_validation_report",
        title="Input validation report",
        plan=plan_validation,
        refresh_inputs=refresh_validation_inputs,
    ),
    "manual_index_run": WorkflowType(
        name="manual_index_run", title="Manual index run", plan=plan_index_run, refresh_inputs=unchanged
    ),
    "file_upload": WorkflowType(
        name="file_upload", title="File upload", plan=plan_file_upload, refresh_inputs=refresh_ingest_inputs
    ),
    "ingest": WorkflowType(
        name="ingest", title="Ingest", plan=plan_ingest, refresh_inputs=refresh_ingest_inputs
    ),
    "campaign_send": WorkflowType(
        name="campaign_send",
        title="Campaign send",
        plan=plan_campaign_send,
        refresh_inputs=refresh_send_inputs,
    ),
    "orchestration": WorkflowType(
        name="orchestration",
        title="Orchestration",
        plan=plan_orchestration,
        refresh_inputs=refresh_send_inputs,
    ),
    "orchestration_group": WorkflowType(
        name="orchestration_group",
        title="Orchestration group",
        plan=plan_orchestration_group,
        refresh_inputs=refresh_send_inputs,
    ),
    "courier": WorkflowType(
        name="courier",
        title="Courier",
        plan=plan_courier,
        refresh_inputs=refresh_courier_group_inputs,
    ),
    "database": WorkflowType(
        name="database",
        title="Database",
        plan=plan_database,
        refresh_inputs=refresh_database_inputs,
    ),
    "courier_group": WorkflowType(
        name="courier_group",
        title="Courier group",
        plan=plan_courier_group,
        refresh_inputs=refresh_courier_group_inputs,
    ),
}
