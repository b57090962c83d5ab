"""Interaction activities on a large audience in the local runtime: data process, decision offer,
data transfer.

Selects every record of a customer table of ``--records`` rows, then runs a ``data_process``
(two computed columns and a filter), a ``decision_offer`` (three arms and a default, offer
history written through the repository in chunks of ``--chunk``) and a ``data_transfer`` into a
warehouse table. Prints records/s for each. Asserts nothing.

Usage: ``.venv/bin/python bench/interaction_activities.py [--records 1000000] [--chunk 10000]``.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from interaction_audience import customers, rate  # bench/ is the script's folder
from switchyard.data.interactions.repositories import InstanceRepository
from switchyard.domain.interactions.activities import BatchAudience, DataProcess, DataTransfer, DecisionOffer
from switchyard.domain.interactions.instances import Instance, Space
from switchyard.local.runtime import LocalRuntime
from switchyard.services.deps import get_deps
from switchyard.tasks.interactions.activities import run_data_process, run_data_transfer, run_decision_offer
from switchyard.tasks.interactions.audiences import run_batch_audience
from switchyard.tasks.interactions.context import ActivityContext


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=10_000, help="DatabaseInsertBatchLimit")
    args = parser.parse_args()

    with LocalRuntime():
        deps = get_deps()
        bucket = deps.settings.data_bucket
        deps.blobs.put(bucket, "domain/bench_customers/data.parquet", customers(args.records))
        ctx = ActivityContext(
            blobs=deps.blobs,
            bucket=bucket,
            history=deps.interactions.history,
            instances=deps.interactions.instances,
            catalog={
                "resolution_levels": {"customer": {"table": "bench_customers", "key": "customer_id"}},
                "channels": ["email", "direct_mail"],
            },
            instance_id=1,
            design_id="bench",
            workflow_key="main",
            mode="production",
            space=Space.PRODUCTION,
            insert_batch_limit=args.chunk,
            create_files_in_test_mode=False,
            exclude_instances=[],
            history_activities=[],
            now=datetime.now(UTC),
        )
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
        audience = BatchAudience.model_validate(
            {"type": "batch_audience", "name": "Everyone", "columns": ["email", "region", "score"]}
        )
        process = DataProcess.model_validate(
            {
                "type": "data_process",
                "name": "Enrich",
                "add_columns": {
                    "domain": "lower(substr(email, strpos(email, '@') + 1))",
                    "tier": "if(score >= 90, 'gold', if(score >= 50, 'silver', 'bronze'))",
                },
                "rules": [{"column": "score", "operator": ">=", "value": 0}],
            }
        )
        decision = DecisionOffer.model_validate(
            {
                "type": "decision_offer",
                "name": "Best offer",
                "arms": [
                    {"name": "Gold", "offer_code": "G", "channel": "email",
                     "rules": [{"column": "tier", "operator": "=", "value": "gold"}]},
                    {"name": "North", "offer_code": "N", "channel": "direct_mail",
                     "rules": [{"column": "region", "operator": "=", "value": "north"}]},
                    {"name": "Silver", "offer_code": "S", "channel": "email",
                     "rules": [{"column": "tier", "operator": "=", "value": "silver"}]},
                ],
                "default": {"name": "Rest", "offer_code": "R", "channel": "email"},
            }
        )  # fmt: skip
        transfer = DataTransfer.model_validate(
            {"type": "data_transfer", "name": "Out", "database": "bench", "table": "bench_offered"}
        )

        selected = run_batch_audience(audience, ctx, {})
        t_all = time.perf_counter()
        t0 = time.perf_counter()
        processed = run_data_process(process, ctx, selected)
        t_process = time.perf_counter() - t0
        t0 = time.perf_counter()
        offered = run_decision_offer(decision, ctx, processed)
        t_decision = time.perf_counter() - t0
        t0 = time.perf_counter()
        transferred = run_data_transfer(transfer, ctx, offered)
        t_transfer = time.perf_counter() - t0
        total = time.perf_counter() - t_all

        print(f"interaction activities, local runtime (moto), DatabaseInsertBatchLimit={args.chunk}")
        print(f"  data process (2 computed columns):     {rate(int(processed['records']), t_process)}")
        print(f"  decision offer (3 arms + default):     {rate(int(offered['offered']), t_decision)}")
        print(f"    arms: {offered['arms']}")
        print(
            f"  data transfer (into a warehouse table): {rate(int(transferred['transferred']), t_transfer)}"
        )
        print(f"  total process + decide + transfer:     {total:.1f} s")


if __name__ == "__main__":
    main()
