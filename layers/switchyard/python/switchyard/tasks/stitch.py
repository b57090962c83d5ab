"""Stitch: deterministic identity resolution over the domain tables.

Records are linked when they share a normalized email or phone (the ``match_on`` keys); linked
records form one customer. A customer's id is derived from its smallest record key, so the same
data always gives the same ids, and the count of records whose id changed since the last run
measures ID jitter.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from switchyard.adapters.blobs import BlobStore
from switchyard.domain.task_errors import IdJitterError, MissingTableError
from switchyard.tasks.tables import domain_key, download, identifier, rows, upload_query, workspace

MAPPING_KEY = "stitch/mapping.parquet"


def _normalize(key: str, value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if key == "email":
        value = value.lower()
    elif key == "phone":
        value = re.sub(r"\D", "", value)[-10:]
    return value or None


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # the smaller key wins: the result does not depend on the order of records
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra


def run_stitch(inputs: dict[str, Any], blobs: BlobStore, bucket: str) -> dict[str, Any]:
    tables: list[str] = [identifier(t) for t in inputs["tables"]]
    match_on: list[str] = [identifier(k, "column") for k in inputs.get("match_on") or ["email", "phone"]]
    uf = _UnionFind()
    first_by_value: dict[tuple[str, str], str] = {}
    with workspace() as (con, folder):
        present = []
        for table in tables:
            path = download(blobs, bucket, domain_key(table), folder, f"{table}.parquet")
            if path is None:
                continue  # a courier that was skipped or found no file today
            present.append(table)
            cols = {r["column_name"] for r in rows(con, f"DESCRIBE SELECT * FROM read_parquet('{path}')")}
            if "id" not in cols:
                raise MissingTableError(f"Domain table {table!r} has no 'id' column to stitch on.")
            select = ", ".join(["id", *[(k if k in cols else f"NULL AS {k}") for k in match_on]])
            # identifiers validated above; path is a scratch file
            for record in rows(con, f"SELECT {select} FROM read_parquet('{path}')"):
                rkey = f"{table}:{record['id']}"
                uf.find(rkey)
                for k in match_on:
                    value = _normalize(k, record.get(k))
                    if value is None:
                        continue
                    seen = first_by_value.setdefault((k, value), rkey)
                    uf.union(seen, rkey)
        if not present:
            raise MissingTableError(f"None of the domain tables {', '.join(tables)} exists yet.")
        mapping = {rkey: "c-" + hashlib.sha1(uf.find(rkey).encode()).hexdigest()[:12] for rkey in uf.parent}  # noqa: S324

        previous: dict[str, str] = {}
        prev_path = download(blobs, bucket, MAPPING_KEY, folder, "previous.parquet")
        if prev_path:
            for r in rows(con, f"SELECT record, customer_id FROM read_parquet('{prev_path}')"):
                previous[r["record"]] = r["customer_id"]
        changed = sum(1 for rkey, cid in mapping.items() if rkey in previous and previous[rkey] != cid)
        share = changed / len(previous) if previous else 0.0
        limit = inputs.get("max_changed_share")
        if limit is not None and share > float(limit) and not inputs.get("ignore_jitter"):
            raise IdJitterError(
                f"Stitch would change the customer id of {changed} of {len(previous)} known records "
                f"({share:.1%}), above the allowed {float(limit):.1%}. The previous ids are kept."
            )

        con.execute("CREATE TABLE mapping (record VARCHAR, source VARCHAR, id VARCHAR, customer_id VARCHAR)")
        con.executemany(
            "INSERT INTO mapping VALUES (?, ?, ?, ?)",
            [[rkey, *rkey.split(":", 1), cid] for rkey, cid in sorted(mapping.items())],
        )
        upload_query(con, blobs, bucket, MAPPING_KEY, "SELECT * FROM mapping ORDER BY record", folder)
    customers = len(set(mapping.values()))
    return {
        "changed_share": round(share, 4),
        "tables": present,
        "records": len(mapping),
        "customers": customers,
        "changed_ids": changed,
        "previous_records": len(previous),
        "mapping": f"s3://{bucket}/{MAPPING_KEY}",
    }
