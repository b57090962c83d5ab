"""Campaign sends and orchestrations: select an audience with SQL, deliver it to destinations."""

from __future__ import annotations

from typing import Any

from switchyard.destinations.base import Delivery, Services
from switchyard.destinations.registry import DESTINATIONS
from switchyard.domain.task_errors import MissingTableError
from switchyard.tasks.database import _attach, _run
from switchyard.tasks.tables import download, identifier, upload_query, workspace


def audience_key(workflow_id: str, campaign: str) -> str:
    return f"audiences/{workflow_id}/{identifier(campaign, 'campaign')}.parquet"


def select_audience(inputs: dict[str, Any], workflow_id: str, services: Services) -> dict[str, Any]:
    bucket = services.default_bucket
    with workspace() as (con, folder):
        _attach(con, services.blobs, bucket, folder, inputs)
        _run(con, inputs["sql"])
        (n,) = con.execute("SELECT count(*) FROM result").fetchone() or (0,)
        columns = [c[0] for c in con.execute("SELECT * FROM result LIMIT 0").description]
        key = audience_key(workflow_id, inputs["campaign"])
        upload_query(con, services.blobs, bucket, key, "SELECT * FROM result", folder)
    out: dict[str, Any] = {"audience": int(n), "columns": columns, "location": f"s3://{bucket}/{key}"}
    if n == 0:
        out["warnings"] = [f"The audience of {inputs['campaign']!r} is empty: nothing will be sent."]
    return out


def deliver(inputs: dict[str, Any], workflow_id: str, mode: str, services: Services) -> dict[str, Any]:
    destination = inputs["destination"]
    adapter = DESTINATIONS[destination["kind"]]
    with workspace() as (con, folder):
        path = download(
            services.blobs,
            services.default_bucket,
            audience_key(workflow_id, inputs["campaign"]),
            folder,
            "a.parquet",
        )
        if path is None:
            raise MissingTableError(f"The audience of {inputs['campaign']!r} was not selected in this run.")
        cur = con.execute(f"SELECT * FROM read_parquet('{path}')")
        columns = [c[0] for c in cur.description]
        rows = cur.fetchall()
    delivery = Delivery(
        campaign=inputs["campaign"],
        workflow_id=workflow_id,
        run_date=inputs["run_date"],
        columns=columns,
        rows=rows,
    )
    if mode == "test":
        return {
            "sent": 0,
            "audience": len(rows),
            "warnings": [f"Test mode: {len(rows)} records not sent to {destination['name']}."],
        }
    if not rows:
        return {"sent": 0, "audience": 0}
    return {"destination": destination["name"], **adapter.send(destination, delivery, services)}
