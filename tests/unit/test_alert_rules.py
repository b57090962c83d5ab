"""Alert rules: who hears about a run, which kinds a status raises, what the messages say."""

from __future__ import annotations

import pytest
from switchyard.domain import alerts as rules


@pytest.mark.parametrize(
    ("workflow_type", "started_by", "trigger", "group"),
    [
        ("campaign_send", "ana", None, "campaigns"),
        ("courier_group", "automated", {"kind": "schedule"}, "courier_groups"),
        ("courier_group", "ana", None, "courier_groups"),
        (
            "orchestration_group",
            "automated",
            {"kind": "schedule", "schedule": "nightly"},
            "scheduled_orchestration_groups",
        ),
        ("orchestration_group", "ana", None, None),
        ("orchestration_group", "automated", {"kind": "after_courier_group"}, None),
        ("database", "automated", {"kind": "schedule"}, None),
    ],
)
def test_the_group_a_run_belongs_to(
    workflow_type: str, started_by: str, trigger: dict | None, group: str | None
) -> None:
    assert rules.group_of(workflow_type, started_by, trigger) == group


@pytest.mark.parametrize(
    ("status", "code", "warnings", "kinds"),
    [
        ("failed", "missing_file", [], ["failure"]),
        ("failed", "query_threshold", [], ["query_threshold"]),
        ("stopped", None, [], ["stopped"]),
        ("succeeded", None, [], ["success"]),
        ("succeeded", None, ["Query q is above its warning threshold 0"], ["success", "query_threshold"]),
        ("succeeded", None, ["Resolved: Ignore missing file"], ["success", "warnings"]),
        ("running", None, [], []),
    ],
)
def test_the_kinds_a_status_raises(
    status: str, code: str | None, warnings: list[str], kinds: list[str]
) -> None:
    assert rules.kinds_for(status, code, warnings) == kinds


def test_recipient_problems_name_each_field_and_what_to_fix() -> None:
    problems = rules.recipient_problems(
        "g.",
        ["ok@Example.com", "x@gmail.com", "not-an-address"],
        ["#fine", "fine", "#Bad Name"],
        ["example.com"],
    )
    assert problems == [
        {"field": "g.emails[1]", "problem": "x@gmail.com is not in an allowed domain (example.com)"},
        {"field": "g.emails[2]", "problem": "'not-an-address' is not an email address"},
        {
            "field": "g.slack_channels[1]",
            "problem": "'fine' must start with # (alerts go to channels, not people)",
        },
        {
            "field": "g.slack_channels[2]",
            "problem": "'#Bad Name' is not a Slack channel name (a-z, 0-9, - and _)",
        },
    ]
    assert rules.recipient_problems("", "a@example.com", [], ["example.com"]) == [
        {"field": "emails", "problem": "must be a list of strings"}
    ]


def test_one_outbox_record_per_incident_and_recipient() -> None:
    a = rules.outbox_id("w1:failure:1", "email", "a@example.com")
    assert a == rules.outbox_id("w1:failure:1", "email", "a@example.com")
    assert a != rules.outbox_id("w1:failure:2", "email", "a@example.com")
    assert a != rules.outbox_id("w1:failure:1", "slack", "a@example.com")


def test_messages_escape_what_they_quote() -> None:
    alert = rules.Alert(
        id="w1:failure:1",
        kind="failure",
        workflow_id="w1",
        workflow_name="<b>daily</b>",
        workflow_type="courier_group",
        status="failed",
        link="https://console.example.com/console/workflows/w1",
        failed_task="Courier: pos",
        error_code="missing_file",
        error_message="No file matching 'pos_*.csv' & more",
    )
    email = alert.email("support@example.com")
    assert "<b>daily</b>" not in email["html"] and "&lt;b&gt;daily&lt;/b&gt;" in email["html"]
    assert email["text"].startswith("<b>daily</b> (courier group) failed. Task: Courier: pos.")
    assert "Reply to this email (support@example.com)" in email["text"]
    slack = alert.slack("#ops")
    fields = [f["text"] for b in slack["blocks"] if b["type"] == "section" for f in b.get("fields", [])]
    assert "*Workflow*\n&lt;b&gt;daily&lt;/b&gt;" in fields
    assert "*Error*\nNo file matching 'pos_*.csv' &amp; more (missing_file)" in fields


def test_every_recipient_field_has_its_channel_and_every_channel_a_recipient_field() -> None:
    # Given the channels registered for a deployment
    from switchyard.adapters.notify import notifiers
    from switchyard.settings import Settings

    from tests.fakes import MemorySecretStore

    registered = notifiers(Settings.from_env({}), MemorySecretStore())
    # Then each is found by its own name, and the alert settings' recipient lists are exactly
    # the channels' fields (a channel without a field, or a field no channel sends, fails here)
    assert all(name == n.channel for name, n in registered.items())
    fields = {k for k, v in next(iter(rules.default_settings().values())).items() if isinstance(v, list)}
    assert {n.recipients_field for n in registered.values()} == fields
    assert set(registered) == {"email", "slack"}
