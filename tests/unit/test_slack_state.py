"""The Slack install's state: signed with the app's secret, bound to a tenant and an administrator,
expiring; and who a tenant's Slack connection cannot reach."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from switchyard.domain.slack import (
    STATE_TTL,
    SlackStateExpired,
    SlackStateInvalid,
    State,
    read_state,
    sign_state,
    unreachable_reason,
)

NOW = datetime(2030, 1, 31, 6, 0, tzinfo=UTC)
KEY = "the-app-secret"


def state() -> State:
    return State(nonce="n0nce", tenant="acme", user="ada", expires_at=NOW + STATE_TTL)


def test_a_signed_state_reads_back_as_issued() -> None:
    text = sign_state(state(), KEY)
    assert read_state(text, KEY, NOW + timedelta(minutes=9)) == state()


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "no-dot",
        "payload.",
        ".signature",
        "e30.AAAA",  # `{}` with a signature that is not ours
    ],
)
def test_a_missing_or_unsigned_state_is_refused(text: str | None) -> None:
    with pytest.raises(SlackStateInvalid):
        read_state(text, KEY, NOW)


def test_a_state_signed_with_another_key_or_changed_is_refused() -> None:
    text = sign_state(state(), KEY)
    with pytest.raises(SlackStateInvalid):
        read_state(text, "another-secret", NOW)
    # another tenant's name in the payload, the signature kept: refused
    forged = sign_state(State("n0nce", "other", "ada", NOW + STATE_TTL), "guess").split(".")[0]
    with pytest.raises(SlackStateInvalid):
        read_state(f"{forged}.{text.split('.')[1]}", KEY, NOW)


def test_a_state_past_its_ten_minutes_is_expired() -> None:
    text = sign_state(state(), KEY)
    with pytest.raises(SlackStateExpired) as refused:
        read_state(text, KEY, NOW + STATE_TTL)
    assert refused.value.details["expired_at"] == "2030-01-31T06:10:00+00:00"
    assert refused.value.status == 400


def test_who_a_connection_cannot_reach() -> None:
    # never connected through OAuth: not judged here (the deployment's webhook)
    assert unreachable_reason(None, "#ops") is None
    connected = {"status": "connected", "team_name": "Acme", "channels": {"#ops": {"secret": "s"}}}
    assert unreachable_reason(connected, "#ops") is None
    assert "not connected" in str(unreachable_reason(connected, "#elsewhere"))
    gone = {
        "status": "disconnected",
        "team_name": "Acme",
        "disconnected_by": "ada",
        "disconnected_at": NOW.isoformat(),
    }
    assert unreachable_reason(gone, "#ops") == (
        "the Slack workspace Acme was disconnected on 2030-01-31 by ada; "
        "connect a workspace again to reach it"
    )
