"""Delivering interaction exports through file destinations (docs/interactions.md, "Delivering
exports"): a real SFTP server on 127.0.0.1 (tests/servers.py) and a second bucket in the emulated
S3, with the interaction run by the real state machine through the API.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from switchyard.services.deps import Deps

from tests.integration.conftest import Api
from tests.servers import Sftp, sftp_server
from tests.support.interactions import (
    CATALOG,
    activate,
    activities,
    audience,
    create,
    design,
    fire,
    offer,
    wait_for,
    wait_until,
    wf,
)

pytestmark = pytest.mark.usefixtures("warehouse")

NAMES = ["actionExport.txt", "actionExport.txt_summary.xml", "actionExport_sample"]


def unique(prefix: str) -> str:
    return f"{prefix}{time.monotonic_ns()}"


@pytest.fixture
def sftp(tmp_path: Path) -> Iterator[Sftp]:
    with sftp_server(tmp_path) as server:
        yield server


@pytest.fixture
def catalog(api: Api, tokens: dict[str, str], deps: Deps) -> Iterator[Any]:
    """Replace the catalog through the API (checked as an administrator would); restored after."""
    admin = api.as_(tokens["administrator"])

    def put(confirm: bool = False, **changes: Any) -> Any:
        # confirm: go ahead even when the change breaks designs saved by other tests (the guard
        # itself is tested in test_catalog.py)
        path = "/api/warehouse/catalog" + ("?confirm_breaking=true" if confirm else "")
        return admin.call("PUT", path, {**CATALOG, **changes})

    yield put
    deps.config.put("warehouse", "catalog", CATALOG)


def sftp_destination(deps: Deps, server: Sftp, password: str | None = None) -> str:
    name = unique("partner_sftp_")
    secret = f"switchyard/destinations/{name}"
    deps.config.put(
        "destination",
        name,
        {
            "name": name,
            "kind": "sftp",
            "host": server.host,
            "port": server.port,
            "host_key": server.host_key,
            "path": ".",
            "secret": secret,
        },
    )
    deps.secrets.put(secret, {"username": server.username, "password": password or server.password})
    return name


def export(where: str, **extra: Any) -> dict[str, Any]:
    return {"type": "export", "name": "Mailing", "template": "mailing", "folder": where, **extra}


def export_task(api: Api, done: dict[str, Any]) -> dict[str, Any]:
    run = api.get(f"/api/workflows/{done['workflow_id']}").body
    return next(t for s in run["stages"] for t in s["tasks"] if t["name"] == "Export: Mailing")


def test_an_export_to_a_channel_with_an_sftp_destination_delivers_its_files_and_rollback_says_they_stay(
    api: Api, deps: Deps, tokens: dict[str, str], sftp: Sftp, catalog: Any
) -> None:
    # Given a channel whose exports deliver to an SFTP server
    name = sftp_destination(deps, sftp)
    put = catalog(channel_destinations={"direct_mail": name})
    assert put.status == 200, put.body
    assert put.body["catalog"]["channel_destinations"] == {"direct_mail": name}
    where = unique("exports/sftp")
    d = create(api, design([audience(), offer(), export(where, channel="direct_mail")]))
    assert d["warnings"] == []
    activate(api, d["id"], "production")
    # When it runs in production
    iid = fire(api, d["id"])["instance_id"]
    done = wait_for(api, d["id"], iid, "Completed", "Failed")
    assert done["status"] == "Completed", done
    # Then the three files are in the bucket and, byte for byte, on the SFTP server
    bucket = deps.settings.data_bucket
    assert sorted(k.rsplit("/", 1)[1] for k in done["exported_files"]) == NAMES
    assert sorted(p.name for p in sftp.root.iterdir()) == NAMES
    for file_name in NAMES:
        assert (sftp.root / file_name).read_bytes() == deps.blobs.get(bucket, f"{where}/{file_name}")
    lines = (sftp.root / "actionExport.txt").read_text().splitlines()
    assert lines[0] == "customer_id|email|region" and len(lines) == 61
    # and the activity's outputs say where each file went, the summary last
    outputs = export_task(api, done)["outputs"]
    location = f"sftp://{sftp.host}:{sftp.port}/./"
    assert outputs["delivered"] == [
        {"file": f, "destination": name, "location": location + f}
        for f in ("actionExport.txt", "actionExport_sample", "actionExport.txt_summary.xml")
    ]
    assert activities(done)["Mailing"]["count"] == 60
    # When the instance is rolled back
    rolled = api.as_(tokens["administrator"]).post(wf(d["id"], f"instances/{iid}/rollback"))
    assert rolled.status == 202, rolled.body
    # Then the bucket's files go, the delivered ones stay and the rollback says so
    assert rolled.body["status"] == "Rolled Back"
    assert deps.blobs.list(bucket, where + "/") == []
    detail = rolled.body["rollback"]
    assert sorted(detail["delivered_not_recalled"]) == sorted(location + f for f in NAMES)
    assert "cannot be recalled" in detail["note"]
    assert sorted(p.name for p in sftp.root.iterdir()) == NAMES
    # When it runs again, the names taken on the server are not overwritten
    again = wait_for(api, d["id"], fire(api, d["id"])["instance_id"], "Completed", "Failed")
    assert again["status"] == "Completed", again
    assert sorted(k.rsplit("/", 1)[1] for k in again["exported_files"]) == [
        "actionExport_1.txt",
        "actionExport_1.txt_summary.xml",
        "actionExport_1_sample",
    ]
    assert len(list(sftp.root.iterdir())) == 6
    assert (sftp.root / "actionExport.txt").read_bytes() == "\n".join(lines).encode() + b"\n"


def test_a_refused_delivery_fails_the_export_and_new_credentials_deliver_it(
    api: Api, deps: Deps, sftp: Sftp, catalog: Any
) -> None:
    # Given the destination's stored password is wrong
    name = sftp_destination(deps, sftp, password="old-password")
    assert catalog(channel_destinations={"direct_mail": name}).status == 200
    where = unique("exports/refused")
    d = create(api, design([audience(), offer(), export(where, channel="direct_mail")]))
    activate(api, d["id"], "production")
    # When it runs
    iid = fire(api, d["id"])["instance_id"]
    done = wait_for(api, d["id"], iid, "Failed", "Completed")
    # Then the export fails saying which destination refused, and nothing is left half-written
    failed = activities(done)["Mailing"]
    assert failed["status"] == "Failed"
    assert failed["error"]["code"] == "destination_authorization"
    assert name in failed["error"]["message"] and "refused the credentials" in failed["error"]["message"]
    assert done["exported_files"] == []
    assert deps.blobs.list(deps.settings.data_bucket, where + "/") == []
    assert list(sftp.root.iterdir()) == []
    # and the destination resolutions are offered, as for a campaign's send
    run_id = done["workflow_id"]
    api.wait_waiting(run_id)
    offered = [r["id"] for r in api.get(f"/api/workflows/{run_id}/resolutions").body["items"]]
    assert offered[0] == "update_credentials"
    # When new credentials are stored through the resolution
    reply = api.post(
        f"/api/workflows/{run_id}/resolve",
        {
            "resolution": "update_credentials",
            "params": {"credentials": {"username": sftp.username, "password": sftp.password}},
        },
    )
    assert reply.status == 202, reply.body
    # Then the export runs again and delivers, under the same names
    done = wait_for(api, d["id"], iid, "Completed", "Failed")
    assert done["status"] == "Completed", done
    assert sorted(p.name for p in sftp.root.iterdir()) == NAMES
    assert sorted(k.rsplit("/", 1)[1] for k in done["exported_files"]) == NAMES
    assert deps.secrets.get(f"switchyard/destinations/{name}")["password"] == sftp.password


def test_a_templates_s3_destination_delivers_in_test_mode_only_with_create_files(
    api: Api, deps: Deps, catalog: Any
) -> None:
    # Given a partner bucket in the emulated S3 and a template that delivers there
    partner = unique("partner-drop-")
    boto3.client("s3", region_name=deps.settings.region).create_bucket(Bucket=partner)
    name = unique("drop_")
    deps.config.put(
        "destination", name, {"name": name, "kind": "s3", "bucket": partner, "prefix": "inbound/"}
    )
    templates = {
        **CATALOG["export_templates"],
        "dropped": {"columns": ["customer_id", "email"], "destination": name},
    }
    put = catalog(export_templates=templates)
    assert put.status == 200, put.body
    assert put.body["catalog"]["export_templates"]["dropped"]["destination"] == name
    assert "destination" not in put.body["catalog"]["export_templates"]["mailing"]
    where = unique("exports/s3")
    dropped = {"type": "export", "name": "Mailing", "template": "dropped", "folder": where}
    # When it runs in test mode without "create files in test mode"
    quiet = create(api, design([audience(), dropped]))
    activate(api, quiet["id"], "test")
    done = wait_for(api, quiet["id"], fire(api, quiet["id"])["instance_id"], "Test Completed", "Test Failed")
    # Then nothing is written or delivered
    assert done["status"] == "Test Completed", done
    assert deps.blobs.list(partner, "inbound/") == []
    # When it runs in test mode with it
    loud = create(api, design([audience(), dropped], create_files_in_test_mode=True))
    activate(api, loud["id"], "test")
    done = wait_for(api, loud["id"], fire(api, loud["id"])["instance_id"], "Test Completed", "Test Failed")
    # Then the files are delivered into the partner's bucket under its prefix
    assert done["status"] == "Test Completed", done
    assert sorted(deps.blobs.list(partner, "inbound/")) == [f"inbound/{f}" for f in NAMES]
    data = (deps.blobs.get(partner, "inbound/actionExport.txt") or b"").decode().splitlines()
    assert data[0] == "customer_id|email" and len(data) == 61
    summary = (deps.blobs.get(partner, "inbound/actionExport.txt_summary.xml") or b"").decode()
    assert "<Records>60</Records>" in summary
    delivered = export_task(api, done)["outputs"]["delivered"]
    assert [x["location"] for x in delivered] == [
        f"s3://{partner}/inbound/{f}"
        for f in ("actionExport.txt", "actionExport_sample", "actionExport.txt_summary.xml")
    ]


def test_an_export_whose_destination_takes_no_files_is_a_problem_at_save_and_activation(
    api: Api, deps: Deps, catalog: Any
) -> None:
    hook, files = unique("hook_"), unique("files_")
    deps.config.put("destination", hook, {"name": hook, "kind": "webhook", "url": "http://127.0.0.1:9/x"})
    deps.config.put("destination", files, {"name": files, "kind": "s3", "prefix": unique("drop/")})
    # A catalog: a template must deliver to a file destination that exists; a channel mapped to a
    # webhook is a warning (its exports are refused), to nothing configured an error
    templates = {**CATALOG["export_templates"], "hooked": {"columns": ["customer_id"], "destination": hook}}
    bad = catalog(export_templates=templates, channel_destinations={"email": "nowhere", "sms": files})
    assert bad.status == 400, bad.body
    found = {(p["code"], p["path"]) for p in bad.body["error"]["details"]["problems"]}
    assert {
        ("not_a_file_destination", "export_templates.hooked.destination"),
        ("unknown_destination", "channel_destinations.email"),
        ("unknown_channel", "channel_destinations.sms"),
    } <= found
    ok = catalog(confirm=True, channel_destinations={"direct_mail": hook, "email": files})
    assert ok.status == 200, ok.body
    warning = next(p for p in ok.body["problems"] if p["path"] == "channel_destinations.direct_mail")
    assert (warning["code"], warning["severity"]) == ("not_a_file_destination", "warning")
    # When a design exports to the webhook's channel
    reply = api.post("/api/interactions", design([audience(), export(unique("x/"), channel="direct_mail")]))
    # Then it is refused at the export's channel, saying what to fix
    assert reply.status == 422, reply.body
    problems = reply.body["error"]["details"]["problems"]
    assert [(p["code"], p["path"]) for p in problems if p["severity"] == "error"] == [
        ("not_a_file_destination", "workflows.0.branches.0.1.channel")
    ]
    assert hook in problems[0]["message"] and "s3 or sftp" in problems[0]["message"]
    # Given a design saved while its channel delivers to files
    d = create(api, design([audience(), export(unique("y/"), channel="email")]))
    # When the destination becomes a webhook before activation
    deps.config.put("destination", files, {"name": files, "kind": "webhook", "url": "http://127.0.0.1:9/x"})
    refused = api.post(wf(d["id"], "activate"), {"mode": "production"})
    # Then activation is refused with the same problem
    assert refused.status == 422, refused.body
    assert {(p["code"], p["path"]) for p in refused.body["error"]["details"]["problems"]} == {
        ("not_a_file_destination", "workflows.0.branches.0.1.channel")
    }


def test_an_export_whose_destination_stopped_taking_files_fails_classified_and_exports_nothing(
    api: Api, deps: Deps, catalog: Any
) -> None:
    # Given a design whose channel delivers to a file destination, its instance waiting for a
    # manual event before the export
    files = unique("files_")
    prefix = unique("drop/")
    deps.config.put("destination", files, {"name": files, "kind": "s3", "prefix": prefix})
    assert catalog(confirm=True, channel_destinations={"email": files}).status == 200
    go = {"type": "wait_for_event", "name": "Go signal"}
    body = design([audience(), go, export(unique("z/"), channel="email")], create_files_in_test_mode=True)
    d = create(api, body)
    activate(api, d["id"], "test")
    iid = fire(api, d["id"])["instance_id"]
    wait_until(lambda: bool(deps.interactions.instances.get(iid).events))
    # When the destination becomes a webhook, and the event lets the export run
    deps.config.put("destination", files, {"name": files, "kind": "webhook", "url": "http://127.0.0.1:9/x"})
    assert api.post(wf(d["id"], f"instances/{iid}/activities/Go%20signal/event")).status == 202
    done = wait_for(api, d["id"], iid, "Test Completed", "Test Failed")
    # Then the export fails with the documented code (not an unexpected error) and writes nothing
    assert done["status"] == "Test Failed", done
    error = export_task(api, done)["error"]
    assert (error["code"], error["category"]) == ("invalid_export_destination", "validation")
    assert "Nothing was exported" in error["message"] and files in error["message"], error
    assert deps.blobs.list(deps.settings.data_bucket, prefix) == []
