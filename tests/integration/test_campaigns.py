"""Campaign sends and orchestrations: audiences selected with SQL and delivered for real."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from switchyard.services.deps import Deps

from tests.integration.conftest import Api
from tests.servers import sftp_server, webhook_server
from tests.support.campaigns import campaign, start, tasks

pytestmark = pytest.mark.usefixtures("customers_built")


def test_a_campaign_exports_its_audience_as_a_file_in_s3(api: Api, deps: Deps) -> None:
    run = api.wait(start(api, "campaign_send", "welcome")["id"], "succeeded", "failed")
    assert run["status"] == "succeeded", run
    t = tasks(run)
    audience = t["Audience: welcome"]["outputs"]["audience"]
    assert audience > 0
    sent = t["Send: welcome to exports"]["outputs"]
    assert sent["sent"] == audience
    key = sent["location"].split(f"s3://{deps.settings.data_bucket}/", 1)[1]
    rows = list(csv.DictReader(io.StringIO((deps.blobs.get(deps.settings.data_bucket, key) or b"").decode())))
    assert len(rows) == audience
    assert set(rows[0]) == {"customer_id", "email", "first_name"}


def test_test_mode_selects_but_sends_nothing(api: Api, deps: Deps) -> None:
    before = set(deps.blobs.list(deps.settings.data_bucket, "exports/welcome/"))
    run = api.wait(start(api, "campaign_send", "welcome", mode="test")["id"], "succeeded", "failed")
    assert run["mode"] == "test"
    send = tasks(run)["Send: welcome to exports"]
    assert send["status"] == "warning"
    assert send["outputs"]["sent"] == 0
    assert "Test mode" in send["warnings"][0]
    assert set(deps.blobs.list(deps.settings.data_bucket, "exports/welcome/")) == before


def test_a_webhook_receives_the_audience_and_its_failures_are_classified(api: Api, deps: Deps) -> None:
    with webhook_server() as hook:
        deps.config.put("destination", "hook", {"name": "hook", "kind": "webhook", "url": hook.url})
        campaign(deps, "hooked", ["hook"])
        ok = api.wait(start(api, "campaign_send", "hooked")["id"], "succeeded", "failed")
        assert ok["status"] == "succeeded"
        audience = tasks(ok)["Audience: hooked"]["outputs"]["audience"]
        assert sum(len(b["records"]) for b in hook.received) == audience
        assert hook.received[0]["campaign"] == "hooked"

        hook.script = [401]
        denied = api.wait_waiting(start(api, "campaign_send", "hooked")["id"])
        failed = tasks(denied)["Send: hooked to hook"]
        assert failed["error"]["code"] == "destination_authorization"
        offered = [r["id"] for r in api.get(f"/api/workflows/{denied['id']}/resolutions").body["items"]]
        assert offered[0] == "update_credentials"
        api.post(f"/api/workflows/{denied['id']}/stop")

        hook.script = [503]
        down = api.wait_waiting(start(api, "campaign_send", "hooked")["id"])
        assert tasks(down)["Send: hooked to hook"]["error"]["code"] == "connection_error"
        # the endpoint is back: a retry delivers
        assert api.post(f"/api/workflows/{down['id']}/resolve", {"resolution": "retry_task"}).status == 202
        assert api.wait(down["id"], "succeeded", "failed")["status"] == "succeeded"


@pytest.fixture
def sftp(tmp_path: Path) -> Iterator[Any]:
    with sftp_server(tmp_path) as server:
        yield server


def test_an_sftp_destination_uploads_the_file_and_new_credentials_fix_a_refusal(
    api: Api, deps: Deps, sftp: Any
) -> None:
    deps.config.put(
        "destination",
        "partner_sftp",
        {
            "name": "partner_sftp",
            "kind": "sftp",
            "host": sftp.host,
            "port": sftp.port,
            "host_key": sftp.host_key,
            "path": ".",
            "secret": "switchyard/destinations/partner_sftp",
        },
    )
    deps.secrets.put(
        "switchyard/destinations/partner_sftp", {"username": "partner", "password": "old-password"}
    )
    campaign(deps, "to_partner", ["partner_sftp"])
    run = api.wait_waiting(start(api, "campaign_send", "to_partner")["id"])
    assert tasks(run)["Send: to_partner to partner_sftp"]["error"]["code"] == "destination_authorization"
    assert list(sftp.root.iterdir()) == []

    reply = api.post(
        f"/api/workflows/{run['id']}/resolve",
        {
            "resolution": "update_credentials",
            "params": {"credentials": {"username": "partner", "password": sftp.password}},
        },
    )
    assert reply.status == 202, reply.body
    done = api.wait(run["id"], "succeeded", "failed")
    assert done["status"] == "succeeded"
    files = list(sftp.root.iterdir())
    assert len(files) == 1
    lines = files[0].read_text().splitlines()
    assert lines[0] == "customer_id,email"
    assert len(lines) - 1 == tasks(done)["Audience: to_partner"]["outputs"]["audience"]
    # the new password is stored, and never shown in the run's history
    assert deps.secrets.get("switchyard/destinations/partner_sftp")["password"] == sftp.password
    applied = next(h for h in done["history"] if h["event"] == "resolution_applied")
    assert applied["detail"]["params"] == {"credentials": "<redacted>"}
    assert sftp.password not in str(done)


def test_a_platform_destination_validates_credentials_and_never_pretends_to_send(
    api: Api, deps: Deps
) -> None:
    run = api.wait_waiting(start(api, "campaign_send", "newsletter")["id"])
    t = tasks(run)
    assert t["Send: newsletter to exports"]["status"] == "succeeded"
    braze = t["Send: newsletter to braze_newsletter"]
    assert braze["error"]["code"] == "invalid_credentials"
    bad = api.post(
        f"/api/workflows/{run['id']}/resolve",
        {
            "resolution": "update_credentials",
            "params": {"credentials": {"api_key": "nope", "rest_endpoint": "x"}},
        },
    )
    # malformed credentials are refused before anything is stored, each field named
    assert bad.status == 400, bad.body
    assert {p["field"] for p in bad.body["error"]["details"]["problems"]} == {"api_key", "rest_endpoint"}
    assert "nope" not in str(bad.body)
    again = api.wait_waiting(run["id"])
    assert tasks(again)["Send: newsletter to braze_newsletter"]["error"]["code"] == "invalid_credentials"
    good = {
        "api_key": "0b6b1f2e-1a2b-4c3d-8e9f-0123456789ab",
        "rest_endpoint": "https://rest.iad-01.braze.com",
    }
    assert (
        api.post(
            f"/api/workflows/{run['id']}/resolve",
            {"resolution": "update_credentials", "params": {"credentials": good}},
        ).status
        == 202
    )
    third = api.wait_waiting(run["id"])
    braze = tasks(third)["Send: newsletter to braze_newsletter"]
    assert braze["error"]["code"] == "destination_not_supported"
    assert "nothing was sent" in braze["error"]["message"]
    assert braze["outputs"] is None
    api.post(f"/api/workflows/{run['id']}/stop")


def test_an_invalid_list_name_is_fixed_in_configuration(api: Api, deps: Deps) -> None:
    deps.secrets.put("switchyard/destinations/klaviyo", {"private_key": "pk_" + "a" * 30})
    deps.config.put(
        "destination",
        "klaviyo_vip",
        {"name": "klaviyo_vip", "kind": "klaviyo", "secret": "switchyard/destinations/klaviyo", "list": ""},
    )
    campaign(deps, "vip", ["klaviyo_vip"])
    run = api.wait_waiting(start(api, "campaign_send", "vip")["id"])
    assert tasks(run)["Send: vip to klaviyo_vip"]["error"]["code"] == "invalid_list_name"
    offered = [r["id"] for r in api.get(f"/api/workflows/{run['id']}/resolutions").body["items"]]
    assert offered[0] == "fix_list_name"
    api.post(f"/api/workflows/{run['id']}/stop")


def test_stopping_an_orchestration_waits_for_its_running_send(api: Api, deps: Deps) -> None:
    with webhook_server() as hook:
        # Given an orchestration whose first send is in flight (the webhook holds it)
        hook.hold()
        deps.config.put("destination", "slow_hook", {"name": "slow_hook", "kind": "webhook", "url": hook.url})
        deps.config.put(
            "orchestration",
            "slow",
            {
                "name": "slow",
                "audience_sql": "SELECT customer_id FROM customers LIMIT 3",
                "destinations": ["slow_hook", "exports"],
            },
        )
        run = start(api, "orchestration", "slow")
        assert hook.arrived.wait(timeout=60), "the send never reached the webhook"
        # When it is stopped
        stopping = api.post(f"/api/workflows/{run['id']}/stop")
        assert stopping.status == 202
        assert stopping.body["status"] == "stopping"
        # Then it stays stopping while the send runs (an orchestration task may not be stopped)
        held = api.get(f"/api/workflows/{run['id']}").body
        assert held["status"] == "stopping"
        assert tasks(held)["Send: slow to slow_hook"]["status"] == "running"
        hook.release.set()
        done = api.wait(run["id"], "stopped")
    t = tasks(done)
    assert t["Send: slow to slow_hook"]["status"] == "succeeded"  # ran to completion
    assert t["Send: slow to exports"]["status"] == "pending"  # nothing new started
    assert len(hook.received) == 1


def test_stopping_a_campaign_ends_its_running_send_and_starts_no_other(api: Api, deps: Deps) -> None:
    with webhook_server() as hook:
        # Given a campaign whose first send is in flight (the webhook holds it)
        hook.hold()
        deps.config.put("destination", "held_hook", {"name": "held_hook", "kind": "webhook", "url": hook.url})
        campaign(deps, "held", ["held_hook", "exports"], sql="SELECT customer_id FROM customers LIMIT 2")
        run = start(api, "campaign_send", "held")
        assert hook.arrived.wait(timeout=60), "the send never reached the webhook"
        # When it is stopped
        assert api.post(f"/api/workflows/{run['id']}/stop").status == 202
        # Then the running send is ended (a campaign's send may be stopped) and the next never starts
        done = api.wait(run["id"], "stopped")
        hook.release.set()
    t = tasks(done)
    assert t["Send: held to held_hook"]["status"] == "stopped"
    assert t["Send: held to exports"]["status"] == "pending"
    assert t["Send: held to exports"]["started_at"] is None


def test_an_orchestration_group_runs_its_orchestrations(api: Api) -> None:
    run = api.wait(start(api, "orchestration_group", "nightly")["id"], "succeeded", "failed")
    assert run["status"] == "succeeded", run
    assert [s["name"] for s in run["stages"]] == ["Audience", "Destinations"]
    assert all(not t["stoppable"] for s in run["stages"] for t in s["tasks"])


def test_a_destination_that_takes_one_send_at_a_time_makes_the_next_run_wait(api: Api, deps: Deps) -> None:
    with webhook_server() as hook:
        hook.hold()
        deps.config.put(
            "destination",
            "ad_platform",
            {"name": "ad_platform", "kind": "webhook", "url": hook.url, "exclusive": True},
        )
        campaign(deps, "ads", ["ad_platform"], sql="SELECT customer_id FROM customers LIMIT 2")
        first = start(api, "campaign_send", "ads")
        assert hook.arrived.wait(timeout=60), "the first send never reached the webhook"
        deadline = time.monotonic() + 60
        second = start(api, "campaign_send", "ads")
        # the second run's send waits, with a warning saying why
        while (
            not tasks(api.get(f"/api/workflows/{second['id']}").body)
            .get("Send: ads to ad_platform", {})
            .get("warnings")
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        waiting = tasks(api.get(f"/api/workflows/{second['id']}").body)["Send: ads to ad_platform"]
        assert waiting["status"] == "pending"
        assert f"run {first['id']} was still sending" in waiting["warnings"][0]
        hook.release.set()
        one = api.wait(first["id"], "succeeded", "failed")
        two = api.wait(second["id"], "succeeded", "failed")
    assert one["status"] == two["status"] == "succeeded"
    first_send = tasks(one)["Send: ads to ad_platform"]
    second_send = tasks(two)["Send: ads to ad_platform"]
    assert datetime.fromisoformat(second_send["started_at"]) >= datetime.fromisoformat(first_send["ended_at"])
    assert second_send["status"] == "warning"
    assert len(hook.received) == 2
