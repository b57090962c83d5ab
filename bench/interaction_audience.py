"""A large interaction audience in the local runtime: selection, offer-history writes, export.

Selects an audience from a customer table of ``--records`` rows (DuckDB over Parquet in the
emulated S3), records one offer-history row per record (the repository's chunked, threaded
BatchWriteItem path of packed chunks) and exports it (actionExport.txt, summary, sample), then
again PGP-encrypted (``--skip-pgp`` leaves that out); then,
for comparison on the same emulated DynamoDB, writes the same packed items with a plain
single-threaded BatchWriteItem loop, and ``--raw-records`` records as one item each.
Prints records/s for each and the total time. Asserts nothing.

Usage: ``.venv/bin/python bench/interaction_audience.py [--records 1000000] [--chunk 10000]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

import duckdb
from switchyard.domain.interactions.activities import BatchAudience, Export, Offer
from switchyard.domain.interactions.instances import Space
from switchyard.local.runtime import LocalRuntime
from switchyard.services.deps import get_deps
from switchyard.tasks.interactions.audiences import run_batch_audience, run_offer
from switchyard.tasks.interactions.context import ActivityContext
from switchyard.tasks.interactions.exports import run_export


def customers(n: int) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "c.parquet")
        duckdb.connect().execute(
            f"COPY (SELECT 'c' || i AS customer_id, 'p' || i || '@example.com' AS email, "
            f"CASE WHEN i % 10 = 0 THEN 'north' ELSE 'south' END AS region, i % 100 AS score "
            f"FROM range({int(n)}) t(i)) TO '{path}' (FORMAT parquet)"
        )
        with open(path, "rb") as fh:
            return fh.read()


def rate(n: int, seconds: float) -> str:
    return f"{n:>10,} records in {seconds:7.1f} s = {n / seconds:>10,.0f} records/s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument(
        "--chunk", type=int, default=10_000, help="DatabaseInsertBatchLimit (0 = one bulk path)"
    )
    parser.add_argument("--skip-raw", action="store_true", help="leave out the raw BatchWriteItem comparison")
    parser.add_argument("--skip-pgp", action="store_true", help="leave out the PGP-encrypted export")
    parser.add_argument(
        "--raw-records", type=int, default=100_000, help="records for the one-item-a-record comparison"
    )
    args = parser.parse_args()

    with LocalRuntime():
        deps = get_deps()
        bucket = deps.settings.data_bucket
        deps.blobs.put(bucket, "domain/bench_customers/data.parquet", customers(args.records))
        catalog = {
            "resolution_levels": {"customer": {"table": "bench_customers", "key": "customer_id"}},
            "channels": ["email"],
        }
        ctx = ActivityContext(
            blobs=deps.blobs,
            bucket=bucket,
            history=deps.interactions.history,
            instances=deps.interactions.instances,
            catalog=catalog,
            instance_id=1,
            design_id="bench",
            workflow_key="main",
            mode="production",
            space=Space.PRODUCTION,
            insert_batch_limit=args.chunk,
            create_files_in_test_mode=False,
            exclude_instances=[],
            history_activities=["Offer"],
            now=datetime.now(UTC),
        )
        audience = BatchAudience.model_validate(
            {
                "type": "batch_audience",
                "name": "Everyone",
                "rules": [{"column": "score", "operator": ">=", "value": 0}],
            }
        )
        offer = Offer.model_validate(
            {"type": "offer", "name": "Offer", "offer_code": "B1", "channel": "email"}
        )
        export = Export.model_validate({"type": "export", "name": "Export", "folder": "exports/bench"})
        from switchyard.data.interactions.repositories import InstanceRepository
        from switchyard.domain.interactions.instances import Instance

        InstanceRepository().create(
            Instance(
                instance_id=1,
                tenant="default",
                design_id="bench",
                workflow_key="main",
                mode="production",
                started_by="bench",
                created_at=ctx.now,
            )
        )

        t_all = time.perf_counter()
        t0 = time.perf_counter()
        selected = run_batch_audience(audience, ctx, {})
        t_select = time.perf_counter() - t0
        n = int(selected["records"])

        t0 = time.perf_counter()
        offered = run_offer(offer, ctx, selected)
        t_offer = time.perf_counter() - t0

        t0 = time.perf_counter()
        exported = run_export(export, ctx, offered)
        t_export = time.perf_counter() - t0
        total = time.perf_counter() - t_all

        print(f"interaction audience, local runtime (moto), DatabaseInsertBatchLimit={args.chunk}")
        print(f"  selection (DuckDB over Parquet in S3): {rate(n, t_select)}")
        print(f"  offer history (repository, chunked):   {rate(int(offered['offered']), t_offer)}")
        print(f"  export (actionExport.txt + summary):   {rate(int(exported['exported']), t_export)}")
        print(f"  total select + record + export:        {total:.1f} s")

        if not args.skip_pgp:  # the same export, PGP-encrypted for a key stored as a secret
            import pysequoia

            public = str(pysequoia.Tsk.generate("Bench <bench@example.com>").extract_certificate())
            deps.secrets.put("switchyard/pgp/bench", {"public_key": public})
            ctx.secrets = deps.secrets
            sealed = export.model_copy(update={"pgp_key": "bench", "folder": "exports/bench_pgp"})
            t0 = time.perf_counter()
            encrypted = run_export(sealed, ctx, offered)
            t_pgp = time.perf_counter() - t0
            print(f"  export PGP-encrypted (.pgp + summary): {rate(int(encrypted['exported']), t_pgp)}")

        if not args.skip_raw:
            from switchyard.adapters.aws import client
            from switchyard.data.interactions.models import OfferHistoryModel
            from switchyard.data.interactions.repositories import pack

            # the same backend, plain single-threaded BatchWriteItem loops, validation on
            dynamodb = client("dynamodb", deps.settings.region)
            table = OfferHistoryModel.Meta.table_name
            ids = [f"c{i}" for i in range(n)]

            def raw(items: list[dict]) -> None:
                for start in range(0, len(items), 25):
                    pending = {table: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
                    while pending:
                        pending = (
                            dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                        )

            packed = [
                {
                    "history_key": {"S": f"rawpacked#{j % 8}"},
                    "chunk": {"S": f"{j:06d}"},
                    "offer_code": {"S": "B1"},
                    "records": {"N": str(count)},
                    "ids": {"B": body},
                }
                for j, (count, body) in enumerate(pack(ids))
            ]
            t0 = time.perf_counter()
            raw(packed)
            print(f"  raw BatchWriteItem, same packed items: {rate(n, time.perf_counter() - t0)}")
            sample = ids[: min(n, args.raw_records)]
            per_record = [
                {"history_key": {"S": f"raw#{i % 8}"}, "chunk": {"S": rid}, "offer_code": {"S": "B1"}}
                for i, rid in enumerate(sample)
            ]
            t0 = time.perf_counter()
            raw(per_record)
            print(f"  raw BatchWriteItem, one item a record: {rate(len(sample), time.perf_counter() - t0)}")


if __name__ == "__main__":
    main()
