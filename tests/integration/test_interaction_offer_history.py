"""Offer history through the API: what a user reads of an instance's history, meta and details,
and of one record across a workflow's instances."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Api
from tests.support.interactions import (
    CUSTOMERS,
    activate,
    audience,
    create,
    design,
    fire,
    offer,
    wait_for,
    wf,
)

pytestmark = pytest.mark.usefixtures("warehouse")


def east() -> dict[str, Any]:
    return audience("East", rules=[{"column": "region", "operator": "=", "value": "east"}])


def history(api: Api, design_id: str, instance_id: int, query: str = "") -> Any:
    return api.get(wf(design_id, f"instances/{instance_id}/offer-history{query}"))


def all_pages(
    api: Api, design_id: str, instance_id: int, query: str = "", limit: int = 25
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = ""
    pages = 0
    while True:
        sep = "&" if query else "?"
        reply = history(api, design_id, instance_id, f"{query}{sep}limit={limit}{cursor}")
        assert reply.status == 200, reply.body
        assert len(reply.body["items"]) <= limit
        rows.extend(reply.body["items"])
        pages += 1
        if reply.body["next_cursor"] is None:
            return rows
        cursor = f"&cursor={reply.body['next_cursor']}"
        assert pages < 100


def production_run(api: Api) -> tuple[str, int]:
    body = design(
        [
            audience(),
            offer(detail_columns=["email"]),
            {"type": "export", "name": "Mailing", "template": "mailing"},
        ],
        [east(), {"type": "control", "name": "Holdout"}],
        database_insert_batch_limit=7,  # 9 chunks over the 8 shards
    )
    d = create(api, body)
    activate(api, d["id"], "production")
    iid = fire(api, d["id"])["instance_id"]
    done = wait_for(api, d["id"], iid, "Completed", "Failed")
    assert done["status"] == "Completed", done
    return d["id"], iid


def test_an_instance_history_is_read_page_by_page_with_channel_control_time_and_details(api: Api) -> None:
    # Given a production instance that offered to the west and held the east out
    design_id, iid = production_run(api)
    # When the user pages through its offer history 25 rows at a time
    rows = all_pages(api, design_id, iid)
    # Then every record of each activity comes once, with what was offered, how and when
    offered = [r for r in rows if r["activity"] == "Spring offer"]
    held = [r for r in rows if r["activity"] == "Holdout"]
    assert len(rows) == CUSTOMERS and len(offered) == len(held) == CUSTOMERS // 2
    assert len({(r["activity"], r["record_id"]) for r in rows}) == len(rows)
    assert {r["record_id"] for r in offered} == {f"c{i:04d}" for i in range(0, CUSTOMERS, 2)}
    west = next(r for r in offered if r["record_id"] == "c0002")
    assert west == {
        "instance_id": iid,
        "record_id": "c0002",
        "activity": "Spring offer",
        "branch": 1,
        "offer_code": "SPRING24",
        "channel": "email",
        "control": False,
        "time": west["time"],
        "details": {"email": "p2@example.com"},
    }
    assert west["time"] and west["time"].startswith("20")
    assert {(r["channel"], r["control"], r["offer_code"], r["branch"]) for r in held} == {
        ("control", True, "CONTROL", 2)
    }
    assert all(r["details"] is None for r in held)


def test_filters_meta_and_what_is_not_found(api: Api, tokens: dict[str, str]) -> None:
    design_id, iid = production_run(api)
    # filters: one activity, one record
    holdout = all_pages(api, design_id, iid, "?activity=Holdout", limit=40)
    assert len(holdout) == CUSTOMERS // 2 and {r["activity"] for r in holdout} == {"Holdout"}
    one = history(api, design_id, iid, "?record_id=c0002")
    assert one.status == 200 and [(r["activity"], r["record_id"]) for r in one.body["items"]] == [
        ("Spring offer", "c0002")
    ]
    assert history(api, design_id, iid, "?record_id=nobody").body == {"items": [], "next_cursor": None}
    # meta: one row per audience output, the export written last wins over the offer
    meta = api.get(wf(design_id, f"instances/{iid}/offer-history/meta"))
    assert meta.status == 200 and meta.body["space"] == "production"
    rows = {m["audience"]: m for m in meta.body["items"]}
    assert rows["West"]["fulfilment"] == "Mailing" and rows["West"]["records"] == CUSTOMERS // 2
    assert rows["East"]["fulfilment"] == "Holdout" and rows["East"]["channel"] == "control"
    assert rows["West"]["written_at"]
    # what does not exist says what
    missing = history(api, design_id, iid, "?activity=Mailing")
    assert missing.status == 404
    assert "no offer, control or decision offer activity 'Mailing'" in missing.body["error"]["message"]
    assert "'Spring offer'" in missing.body["error"]["message"]
    assert history(api, design_id, 99_999_999).status == 404
    other = create(api, design([audience()], key="other"))
    assert api.get(wf(other["id"], f"instances/{iid}/offer-history", "other")).status == 404
    assert api.get(wf(design_id, f"instances/{iid}/offer-history", "nokey")).status == 404
    bad = history(api, design_id, iid, "?cursor=bm90LWEtY3Vyc29y")
    assert bad.status == 400 and bad.body["error"]["code"] == "bad_cursor"
    # who may read: read_workflows
    assert api.as_(tokens["user"]).get(wf(design_id, f"instances/{iid}/offer-history")).status == 200
    assert api.as_(tokens["audience_only"]).get(wf(design_id, f"instances/{iid}/offer-history")).status == 403
    assert (
        api.as_(tokens["audience_only"]).get(wf(design_id, f"instances/{iid}/offer-history/meta")).status
        == 403
    )


def test_a_test_instance_reads_the_sandbox_and_a_record_is_found_across_instances(api: Api) -> None:
    # Given a test-mode workflow fired twice
    d = create(api, design([audience(), offer()]))
    activate(api, d["id"], "test")
    first = wait_for(api, d["id"], fire(api, d["id"])["instance_id"], "Test Completed", "Test Failed")
    second = wait_for(api, d["id"], fire(api, d["id"])["instance_id"], "Test Completed", "Test Failed")
    # Then each instance's history is read from the sandbox
    assert len(all_pages(api, d["id"], first["instance_id"], limit=100)) == CUSTOMERS // 2
    meta = api.get(wf(d["id"], f"instances/{second['instance_id']}/offer-history/meta"))
    assert meta.body["space"] == "sandbox" and meta.body["items"][0]["records"] == CUSTOMERS // 2
    # And one record's entries across the instances come newest first, paged
    path = wf(d["id"], "offer-history/records/c0004")
    page = api.get(path + "?limit=1")
    assert page.status == 200, page.body
    assert [r["instance_id"] for r in page.body["items"]] == [second["instance_id"]]
    rest = api.get(f"{path}?limit=1&cursor={page.body['next_cursor']}")
    assert [r["instance_id"] for r in rest.body["items"]] == [first["instance_id"]]
    assert rest.body["next_cursor"] is None
    everything = api.get(path)
    assert [(r["instance_id"], r["activity"], r["channel"]) for r in everything.body["items"]] == [
        (second["instance_id"], "Spring offer", "email"),
        (first["instance_id"], "Spring offer", "email"),
    ]
    # a record never offered (east) has no entries
    assert api.get(wf(d["id"], "offer-history/records/c0003")).body["items"] == []
