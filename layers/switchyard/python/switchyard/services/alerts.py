"""Alerts: from a run's status change to email and Slack messages that are never lost.

Flow (docs/alerts.md): the bus's "Workflow Status Changed" event reaches the alerts function
(rule ``switchyard-alerts``). Each alert kind the change raises is an *incident* with a
deterministic id; each recipient of it gets one *outbox* record, also with a deterministic id,
written once. Delivery is attempted at once; a 5xx, throttling or timeout schedules another try
(an EventBridge Scheduler one-time schedule back to this function) with growing delays, and
after the last try the record is ``dead`` with the last error. A refused request (4xx) is dead
at once. Duration alerts are one-time schedules set when a run starts.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from switchyard import declarations as d
from switchyard.adapters.notify import Delivery
from switchyard.adapters.scheduler import ScheduleExists, ScheduleSpec
from switchyard.data.alerts import now_iso
from switchyard.domain import alerts as rules
from switchyard.domain.errors import (
    InvalidFilter,
    NotFound,
    SubscriptionNotFound,
    ValidationFailed,
    WorkflowNotFound,
)
from switchyard.domain.models import Mode, Principal, Workflow, WorkflowStatus
from switchyard.domain.slack import CONNECTED, unreachable_reason
from switchyard.observability import logger
from switchyard.services.deps import Deps, get_deps

MAX_ATTEMPTS = 5
# seconds before attempt 2, 3, 4, 5
BACKOFF_S = (30, 120, 600, 1800)
STATUSES = ("pending", "retrying", "sent", "dead")
TENANT_KIND = "tenant"


class AlertService:
    def __init__(
        self,
        deps: Deps,
        function_arn: str = "",
    ) -> None:
        self.deps = deps
        # Scheduler calls this function back (retries, duration checks). On AWS the function
        # learns its own ARN from the invocation (its environment cannot name itself).
        self.function_arn = function_arn or deps.settings.alerts_function_arn
        self.repo = deps.alerts
        # the alert channels (email, Slack), by name: delivery knows no channel of its own
        self.notifiers = deps.notifiers

    # --- the tenant's alert profile and automated recipients ------------------------------

    def profile(self, tenant: str) -> dict[str, Any]:
        """Allowed email domains, the connected Slack workspace and the support address.

        A workspace connected through OAuth (``/api/slack``) is the tenant's workspace, and none
        once disconnected; a tenant that never connected one keeps the profile's
        ``slack_workspace`` and the deployment's webhook (docs/alerts.md, "Slack")."""
        body = (self.deps.config.get(TENANT_KIND, tenant) or {}).get("alerts") or {}
        connection = self.deps.slack.connection(tenant)
        workspace = str(body.get("slack_workspace") or "")
        if connection is not None:
            workspace = (
                str(connection.get("team_name") or "") if connection.get("status") == CONNECTED else ""
            )
        return {
            "allowed_domains": [str(x).lower() for x in body.get("allowed_domains", [])],
            "slack_workspace": workspace,
            "slack_connection": connection,
            "support_email": str(body.get("support_email") or self.deps.settings.alerts_reply_to or ""),
        }

    def settings(self, who: Principal) -> dict[str, Any]:
        profile = self.profile(who.tenant)
        groups = rules.default_settings()
        for name, value in (self.repo.settings(who.tenant) or {}).items():
            if name in groups:
                groups[name].update(value)
        for value in groups.values():
            value["unreachable"] = self.unreachable(profile, value)
        return {
            "allowed_domains": profile["allowed_domains"],
            "slack_workspace": profile["slack_workspace"],
            "groups": groups,
        }

    @staticmethod
    def unreachable(profile: dict[str, Any], recipients: dict[str, Any]) -> list[dict[str, str]]:
        """The Slack channels among ``recipients`` that alerts cannot reach, each with why."""
        found = []
        for channel in recipients.get("slack_channels") or []:
            reason = unreachable_reason(profile["slack_connection"], str(channel))
            if reason:
                found.append({"channel": "slack", "recipient": str(channel), "reason": reason})
        return found

    def change_settings(self, who: Principal, groups: dict[str, Any]) -> dict[str, Any]:
        current = self.settings(who)
        problems: list[dict[str, str]] = []
        merged = current["groups"]
        for name, value in groups.items():
            if name not in rules.GROUPS:
                problems.append(
                    {
                        "field": f"groups.{name}",
                        "problem": f"unknown group; use one of {', '.join(rules.GROUPS)}",
                    }
                )
                continue
            if not isinstance(value, dict):
                problems.append({"field": f"groups.{name}", "problem": "must be an object"})
                continue
            # `unreachable` is what GET answers, read-only: a setting sent back as read is accepted
            unknown = set(value) - {"emails", "slack_channels", "success_alerts", "unreachable"}
            if unknown:
                problems.append(
                    {"field": f"groups.{name}", "problem": f"unknown fields: {', '.join(sorted(unknown))}"}
                )
            emails = value.get("emails", merged[name]["emails"])
            channels = value.get("slack_channels", merged[name]["slack_channels"])
            success = value.get("success_alerts", merged[name]["success_alerts"])
            problems += rules.recipient_problems(
                f"groups.{name}.", emails, channels, current["allowed_domains"]
            )
            problems += self._workspace_problems(
                f"groups.{name}.", channels, current["slack_workspace"], merged[name]["slack_channels"]
            )
            if not isinstance(success, bool):
                problems.append(
                    {"field": f"groups.{name}.success_alerts", "problem": "must be true or false"}
                )
            if not problems:
                merged[name] = {
                    "emails": rules.normalize(emails),
                    "slack_channels": rules.normalize(channels),
                    "success_alerts": success,
                }
        rules.raise_if_problems(problems)
        stored = {n: {k: v for k, v in g.items() if k != "unreachable"} for n, g in merged.items()}
        self.repo.save_settings(who.tenant, stored)
        logger.info("automated alert recipients changed", extra={"by": who.user, "groups": sorted(groups)})
        return self.settings(who)

    @staticmethod
    def _workspace_problems(
        prefix: str, channels: Any, workspace: str, already: list[str] | None = None
    ) -> list[dict[str, str]]:
        """Slack channels need a connected workspace; a channel already listed may stay (it shows
        as unreachable) so that a disconnected tenant can still change its other recipients."""
        added = [c for c in channels if c not in (already or [])] if isinstance(channels, list) else []
        if added and not workspace:
            return [
                {
                    "field": f"{prefix}slack_channels",
                    "problem": "no Slack workspace is connected to this tenant; connect one first",
                }
            ]
        return []

    # --- subscriptions to one run ---------------------------------------------------------

    def _workflow(self, who: Principal, workflow_id: str) -> Workflow:
        workflow = self.deps.workflows.get(workflow_id, with_tasks=False)
        if workflow.tenant != who.tenant:
            raise WorkflowNotFound(f"No workflow {workflow_id!r}.", {"workflow_id": workflow_id})
        return workflow

    def subscriptions(self, who: Principal, workflow_id: str) -> list[dict[str, Any]]:
        self._workflow(who, workflow_id)
        profile = self.profile(who.tenant)
        return [
            {**s, "unreachable": self.unreachable(profile, s)} for s in self.repo.subscriptions(workflow_id)
        ]

    def subscribe(self, who: Principal, workflow_id: str, emails: Any, channels: Any) -> dict[str, Any]:
        self._workflow(who, workflow_id)
        profile = self.profile(who.tenant)
        problems = rules.recipient_problems("", emails, channels, profile["allowed_domains"])
        problems += self._workspace_problems("", channels, profile["slack_workspace"])
        if not problems and not emails and not channels:
            problems.append(
                {"field": "emails", "problem": "give at least one email address or Slack channel"}
            )
        rules.raise_if_problems(problems)
        subscription = {
            "id": uuid.uuid4().hex[:12],
            "emails": rules.normalize(emails),
            "slack_channels": rules.normalize(channels),
            "created_by": who.user,
            "created_at": now_iso(self.deps.clock()),
        }
        self.repo.add_subscription(workflow_id, subscription)
        logger.info("subscribed to a run's alerts", extra={"workflow_id": workflow_id, "by": who.user})
        return {**subscription, "unreachable": self.unreachable(profile, subscription)}

    def unsubscribe(self, who: Principal, workflow_id: str, subscription_id: str) -> None:
        self._workflow(who, workflow_id)
        if not self.repo.remove_subscription(workflow_id, subscription_id):
            raise SubscriptionNotFound(
                f"No subscription {subscription_id!r} on workflow {workflow_id!r}.",
                {"subscription_id": subscription_id},
            )

    # --- reading ----------------------------------------------------------------------------

    def recent(self, who: Principal, limit: int) -> list[dict[str, Any]]:
        """The latest alerts that need attention (every kind but success), newest first."""
        found = [a for a in self.repo.recent(who.tenant, limit * 4) if a["kind"] != "success"]
        return found[:limit]

    def outbox(
        self,
        who: Principal,
        channel: str | None,
        status: str | None,
        limit: int,
        cursor: str | None,
        workflow_id: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        if channel and channel not in self.notifiers:
            raise InvalidFilter(f"channel must be one of {', '.join(self.notifiers)}.", {"channel": channel})
        if status and status not in STATUSES:
            raise InvalidFilter(f"status must be one of {', '.join(STATUSES)}.", {"status": status})
        return self.repo.list_outbox(
            who.tenant, channel=channel, status=status, limit=limit, cursor=cursor, workflow_id=workflow_id
        )

    # --- events -----------------------------------------------------------------------------

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        if event.get("detail-type") == "Workflow Status Changed":
            return self.on_status(event["detail"])
        if event.get("kind") == "deliver":
            return {"status": self.deliver(str(event["outbox_id"]))}
        if event.get("kind") == "duration_check":
            return self.duration_check(str(event["workflow_id"]), int(event["threshold_minutes"]))
        raise ValidationFailed("Not an event the alerts function handles.", {"keys": sorted(event)})

    def on_status(self, detail: dict[str, Any]) -> dict[str, Any]:
        try:
            workflow = self.deps.workflows.get(str(detail["workflow_id"]), with_tasks=False)
        except NotFound:
            logger.warning(
                "status change of an unknown run", extra={"workflow_id": detail.get("workflow_id")}
            )
            return {"alerts": []}
        status = str(detail.get("status"))
        if status == WorkflowStatus.RUNNING:
            return {"duration_check": self._schedule_duration_check(workflow)}
        error = detail.get("error") or {}
        kinds = rules.kinds_for(status, error.get("code"), list(workflow.warnings))
        raised = []
        for kind in kinds:
            # A run can fail again after a resolution: each failure is its own incident.
            serial = len(workflow.history) if kind in ("failure", "query_threshold") else 0
            details = []
            if kind in ("warnings", "query_threshold") and status == "succeeded":
                wanted = [w for w in workflow.warnings if ("threshold" in w) == (kind == "query_threshold")]
                details = wanted[:10]
            alert = rules.Alert(
                id=f"{workflow.id}:{kind}:{serial}",
                kind=kind,
                workflow_id=workflow.id,
                workflow_name=workflow.name,
                workflow_type=workflow.type,
                status=status,
                link=self._link(workflow.id),
                started_by=workflow.started_by,
                failed_task=detail.get("failed_task"),
                error_code=error.get("code"),
                error_message=error.get("message"),
                details=details,
            )
            raised.append(self.raise_alert(workflow, alert))
        return {"alerts": raised}

    def _link(self, workflow_id: str) -> str:
        base = self.deps.settings.console_url
        return f"{base}/console/workflows/{workflow_id}"

    def _trigger(self, workflow: Workflow) -> dict[str, Any] | None:
        return workflow.history[0].detail.get("trigger") if workflow.history else None

    def recipients(self, workflow: Workflow, kind: str) -> list[tuple[str, str]]:
        """(channel, recipient) pairs: the group's automated recipients and the run's subscribers."""
        out: list[tuple[str, str]] = []
        group = rules.group_of(workflow.type, workflow.started_by, self._trigger(workflow))
        # Test runs tell only the people who subscribed to them, not the group's recipients.
        if group and workflow.mode == Mode.PRODUCTION:
            settings = (self.repo.settings(workflow.tenant) or {}).get(group) or {}
            if kind != "success" or settings.get("success_alerts"):
                out += self._listed(settings)
        for sub in self.repo.subscriptions(workflow.id):
            out += self._listed(sub)
        return list(dict.fromkeys(out))

    def _listed(self, recipients: dict[str, Any]) -> list[tuple[str, str]]:
        """(channel, recipient) for every channel's field of alert settings or a subscription."""
        return [
            (channel, str(recipient))
            for channel, notifier in self.notifiers.items()
            for recipient in recipients.get(notifier.recipients_field, [])
        ]

    def raise_alert(self, workflow: Workflow, alert: rules.Alert) -> dict[str, Any]:
        created = now_iso(self.deps.clock())
        record = {
            "id": alert.id,
            "kind": alert.kind,
            "workflow_id": workflow.id,
            "workflow_name": workflow.name,
            "workflow_type": workflow.type,
            "message": alert.message,
            "created_at": created,
            "link": alert.link,
        }
        first = self.repo.record_alert(workflow.tenant, record)
        support = self.profile(workflow.tenant)["support_email"]
        queued: list[str] = []
        again: list[str] = []
        for channel, recipient in self.recipients(workflow, alert.kind):
            content = self.notifiers[channel].render(alert, recipient, support)
            outbox = {
                "id": rules.outbox_id(alert.id, channel, recipient),
                "alert_id": alert.id,
                "kind": alert.kind,
                "workflow_id": workflow.id,
                "workflow_name": workflow.name,
                "channel": channel,
                "recipient": recipient,
                **content,
                "link": alert.link,
                "status": "pending",
                "attempts": 0,
                "last_error": None,
                "created_at": created,
                "sent_at": None,
                "next_attempt_at": None,
            }
            if self.repo.add_outbox(workflow.tenant, outbox):
                queued.append(outbox["id"])
            else:
                # Written by an earlier delivery of this event that may have ended before
                # delivering it: deliver() sends only what is still pending and unclaimed.
                again.append(outbox["id"])
        for outbox_id in queued:
            self.deliver(outbox_id)
        for outbox_id in again:
            self.deliver(outbox_id, unclaimed_only=True)
        logger.info(
            "alert raised" if first else "alert seen before",
            extra={"alert_id": alert.id, "kind": alert.kind, "deliveries": len(queued)},
        )
        return {"id": alert.id, "kind": alert.kind, "new": first, "deliveries": queued}

    # --- delivery ---------------------------------------------------------------------------

    def deliver(self, outbox_id: str, unclaimed_only: bool = False) -> str:
        """One delivery attempt. ``unclaimed_only``: only if no attempt was ever started (an
        event delivered again must neither hurry a retry nor race an attempt under way)."""
        record = self.repo.outbox_record(outbox_id)
        if record is None or record["status"] not in ("pending", "retrying"):
            return record["status"] if record else "unknown"
        attempts = int(record["attempts"])
        if unclaimed_only and attempts:
            return str(record["status"])
        if not self.repo.claim_attempt(outbox_id, attempts):
            return "in progress"  # another invocation is delivering it
        attempt = attempts + 1
        result = self._send(record)
        now = self.deps.clock()
        if result.ok:
            self.repo.settle(outbox_id, "sent", {"sent_at": now_iso(now), "last_error": result.error or None})
            return "sent"
        if result.retry and attempt < MAX_ATTEMPTS:
            when = now + timedelta(seconds=BACKOFF_S[attempt - 1])
            self.repo.settle(
                outbox_id, "retrying", {"last_error": result.error, "next_attempt_at": now_iso(when)}
            )
            self._schedule(f"retry-{outbox_id}-{attempt}", when, {"kind": "deliver", "outbox_id": outbox_id})
            logger.warning(
                "alert delivery will be retried",
                extra={"outbox_id": outbox_id, "attempt": attempt, "error": result.error},
            )
            return "retrying"
        self.repo.settle(outbox_id, "dead", {"last_error": result.error, "next_attempt_at": None})
        logger.error(
            "alert delivery gave up",
            extra={"outbox_id": outbox_id, "attempt": attempt, "error": result.error},
        )
        return "dead"

    def _send(self, record: dict[str, Any]) -> Delivery:
        notifier = self.notifiers.get(record["channel"])
        if notifier is None:
            return Delivery(False, error=f"no channel {record['channel']!r} is configured; not sent")
        return notifier.send(record, self.profile(self._tenant_of(record)))

    def _tenant_of(self, record: dict[str, Any]) -> str:
        try:
            return self.deps.workflows.get(record["workflow_id"], with_tasks=False).tenant
        except NotFound:
            return "default"

    # --- scheduling: retries and duration checks ---------------------------------------------

    def _schedule(self, name: str, when: datetime, payload: dict[str, Any]) -> bool:
        settings = self.deps.settings
        spec = ScheduleSpec(
            group=d.ALERTS_SCHEDULE_GROUP,
            name=name[:64],
            expression=f"at({when.astimezone(UTC):%Y-%m-%dT%H:%M:%S})",
            timezone="UTC",
            enabled=True,
            target_arn=self.function_arn,
            role_arn=settings.scheduler_role_arn,
            input=payload,
            description="Switchyard alerts: " + payload["kind"],
            action_after_completion="DELETE",
        )
        try:
            self.deps.scheduler.create(spec)
        except ScheduleExists:
            return False  # set already (the same run resumed, or the same retry)
        return True

    def _schedule_duration_check(self, workflow: Workflow) -> bool:
        minutes = self._duration_threshold(workflow)
        if not minutes:
            return False
        when = workflow.started_at + timedelta(minutes=minutes)
        return self._schedule(
            f"duration-{workflow.id}",
            when,
            {"kind": "duration_check", "workflow_id": workflow.id, "threshold_minutes": minutes},
        )

    def _duration_threshold(self, workflow: Workflow) -> int | None:
        if workflow.type != "courier_group":
            return None
        config = workflow.config or {}
        value = config.get("warn_if_runtime_exceeds_minutes")
        if value is None:
            group = self.deps.config.get("courier_group", str(config.get("group") or workflow.name)) or {}
            value = group.get("warn_if_runtime_exceeds_minutes")
        return int(value) if isinstance(value, int | float) and value > 0 else None

    def duration_check(self, workflow_id: str, threshold_minutes: int) -> dict[str, Any]:
        try:
            workflow = self.deps.workflows.get(workflow_id, with_tasks=False)
        except NotFound:
            return {"alerts": []}
        if workflow.status not in (WorkflowStatus.RUNNING, WorkflowStatus.STOPPING):
            return {"alerts": []}
        alert = rules.Alert(
            id=f"{workflow.id}:duration:0",
            kind="duration",
            workflow_id=workflow.id,
            workflow_name=workflow.name,
            workflow_type=workflow.type,
            status=str(workflow.status),
            link=self._link(workflow.id),
            started_by=workflow.started_by,
            details=[
                f"It started at {workflow.started_at.astimezone(UTC):%H:%M} UTC and has been "
                f"{workflow.status!s} for over {threshold_minutes} minutes, the longest "
                "this courier group should take."
            ],
        )
        return {"alerts": [self.raise_alert(workflow, alert)]}


def alert_event(event: dict[str, Any], function_arn: str = "") -> dict[str, Any]:
    """The alerts function's entry point."""
    return AlertService(get_deps(), function_arn=function_arn).handle(event)
