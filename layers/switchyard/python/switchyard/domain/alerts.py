"""Alerts: who is told what about a run, and what the message says (docs/alerts.md).

Pure rules, no I/O: which alert kinds a status change raises, who receives them (automated
recipients per group, per-run subscriptions), recipient validation, and the rendering of one
alert as an email (subject, text, HTML) and as a Slack message (Block Kit).
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from typing import Any

from switchyard.domain.errors import InvalidRecipients

GROUPS = ("campaigns", "courier_groups", "scheduled_orchestration_groups")
KINDS = ("failure", "success", "duration", "query_threshold", "stopped", "warnings")
# Slack channel names: lower case letters, digits, '-', '_' (up to 80), after the '#'
SLACK_CHANNEL = re.compile(r"^#[a-z0-9][a-z0-9_\-]{0,79}$")
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~\-]+@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)$")
MAX_RECIPIENTS = 50
KIND_TITLES = {
    "failure": "failed",
    "success": "succeeded",
    "duration": "is running longer than expected",
    "query_threshold": "crossed a query threshold",
    "stopped": "was stopped",
    "warnings": "succeeded with warnings",
}


def default_settings() -> dict[str, Any]:
    return {g: {"emails": [], "slack_channels": [], "success_alerts": False} for g in GROUPS}


def recipient_problems(
    prefix: str, emails: Any, channels: Any, allowed_domains: list[str]
) -> list[dict[str, str]]:
    """Every problem with a list of emails and Slack channels, each naming its field."""
    problems: list[dict[str, str]] = []
    allowed = {d.lower() for d in allowed_domains}
    for what, values in (("emails", emails), ("slack_channels", channels)):
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            problems.append({"field": f"{prefix}{what}", "problem": "must be a list of strings"})
            continue
        if len(values) > MAX_RECIPIENTS:
            problems.append({"field": f"{prefix}{what}", "problem": f"at most {MAX_RECIPIENTS} entries"})
        for i, value in enumerate(values):
            where = f"{prefix}{what}[{i}]"
            if what == "emails":
                match = EMAIL.match(value.strip())
                if not match:
                    problems.append({"field": where, "problem": f"{value!r} is not an email address"})
                elif match.group(1).lower() not in allowed:
                    problems.append(
                        {
                            "field": where,
                            "problem": f"{value} is not in an allowed domain "
                            f"({', '.join(sorted(allowed)) or 'none configured'})",
                        }
                    )
            elif not value.startswith("#"):
                problems.append(
                    {
                        "field": where,
                        "problem": f"{value!r} must start with # (alerts go to channels, not people)",
                    }
                )
            elif not SLACK_CHANNEL.match(value):
                problems.append(
                    {"field": where, "problem": f"{value!r} is not a Slack channel name (a-z, 0-9, - and _)"}
                )
    return problems


def raise_if_problems(problems: list[dict[str, str]]) -> None:
    if problems:
        raise InvalidRecipients(
            "Some recipients cannot receive alerts: "
            + "; ".join(f"{p['field']}: {p['problem']}" for p in problems),
            {"problems": problems},
        )


def normalize(values: list[str]) -> list[str]:
    """Trimmed, lower-cased, without repeats, in the order given."""
    out: list[str] = []
    for v in values:
        v = v.strip().lower()
        if v not in out:
            out.append(v)
    return out


def group_of(workflow_type: str, started_by: str, trigger: dict[str, Any] | None) -> str | None:
    """The automated-alert group a run belongs to, if any.

    Orchestration groups count only when a schedule started them: not by hand, not after a
    courier group.
    """
    if workflow_type == "campaign_send":
        return "campaigns"
    if workflow_type == "courier_group":
        return "courier_groups"
    scheduled = started_by == "automated" and (trigger or {}).get("kind") == "schedule"
    if workflow_type == "orchestration_group" and scheduled:
        return "scheduled_orchestration_groups"
    return None


def kinds_for(status: str, error_code: str | None, warnings: list[str]) -> list[str]:
    """The alert kinds a run's new status raises."""
    if status == "failed":
        return ["query_threshold" if error_code == "query_threshold" else "failure"]
    if status == "stopped":
        return ["stopped"]
    if status == "succeeded":
        kinds = ["success"]
        if any("threshold" in w for w in warnings):
            kinds.append("query_threshold")
        if any("threshold" not in w for w in warnings):
            kinds.append("warnings")
        return kinds
    return []


def outbox_id(incident_id: str, channel: str, recipient: str) -> str:
    """One delivery per incident and recipient, whoever asks for it and however often."""
    return hashlib.sha256(f"{incident_id}|{channel}|{recipient}".encode()).hexdigest()[:32]


@dataclass
class Alert:
    """What happened, in words people act on."""

    id: str
    kind: str
    workflow_id: str
    workflow_name: str
    workflow_type: str
    status: str
    link: str
    started_by: str = ""
    failed_task: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    details: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.workflow_name} ({self.workflow_type.replace('_', ' ')}) {KIND_TITLES[self.kind]}"

    @property
    def message(self) -> str:
        parts = [self.title + "."]
        if self.failed_task:
            parts.append(f"Task: {self.failed_task}.")
        if self.error_message:
            code = f" [{self.error_code}]" if self.error_code else ""
            parts.append(f"Error{code}: {self.error_message}")
        parts.extend(self.details)
        return " ".join(parts)

    def email(self, support: str) -> dict[str, str]:
        text = f"{self.message}\n\nOpen the run: {self.link}\n"
        if support:
            text += f"\nQuestions? Reply to this email ({support}).\n"
        rows = "".join(
            f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in self._facts()
        )
        body = (
            f"<h2>{html.escape(self.title)}</h2>"
            f"<table>{rows}</table>"
            + "".join(f"<p>{html.escape(d)}</p>" for d in self.details)
            + f"<p><a href='{html.escape(self.link)}'>Open the run in the Switchyard console</a></p>"
        )
        return {"subject": f"[Switchyard] {self.title}", "text": text, "html": body}

    def slack(self, channel: str) -> dict[str, Any]:
        facts = [{"type": "mrkdwn", "text": f"*{k}*\n{_slack_escape(v)}"} for k, v in self._facts()]
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": self.title[:150]}},
            {"type": "section", "fields": facts[:10]},
        ]
        for d in self.details[:5]:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(d)}})
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open the run"},
                        "url": self.link,
                    }
                ],
            }
        )
        return {"channel": channel, "text": f"{self.message} {self.link}", "blocks": blocks}

    def _facts(self) -> list[tuple[str, str]]:
        facts = [("Workflow", self.workflow_name), ("Type", self.workflow_type), ("Status", self.status)]
        if self.started_by:
            facts.append(("Started by", self.started_by))
        if self.failed_task:
            facts.append(("Task", self.failed_task))
        if self.error_message:
            facts.append(
                (
                    "Error",
                    f"{self.error_message} ({self.error_code})" if self.error_code else self.error_message,
                )
            )
        return facts


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
