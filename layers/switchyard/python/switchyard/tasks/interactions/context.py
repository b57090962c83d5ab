"""What every interaction activity shares: its run's context, audience paths and rule conditions.

Each activity gets its predecessor's output as ``previous`` and returns its own output, which
the next activity of the branch receives. Audiences are Parquet files in the data bucket under
``interactions/<space>/<instance>/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from switchyard.adapters.blobs import BlobStore
from switchyard.adapters.secrets import SecretStore
from switchyard.domain.interactions.activities import Rule
from switchyard.domain.interactions.instances import Space
from switchyard.domain.task_errors import MissingTableError
from switchyard.tasks.customer_360 import CUSTOMERS_KEY
from switchyard.tasks.tables import download, identifier

EXPORT_FILE = "actionExport.txt"


# A single instance re-run by each fire writes each run's history chunks from run * RUN_PARTS on,
# so a later run adds to the instance's offer history instead of overwriting the first run's.
RUN_PARTS = 1_000_000


DELIMITER = "|"


class History(Protocol):
    def write(
        self,
        space: Space | str,
        instance_id: int,
        activity: str,
        record_ids: Any,
        *,
        offer_code: str,
        channel: str,
        control: bool,
        at: datetime,
        details: Any = None,
        part: int = 0,
    ) -> int: ...

    def put_meta(
        self,
        space: Space | str,
        instance_id: int,
        audience: str,
        *,
        records: int,
        fulfilment: str,
        offer_code: str | None,
        channel: str | None,
        metadata: dict[str, Any] | None,
        at: datetime,
    ) -> None: ...

    def record_ids(self, space: Space | str, instance_id: int, activity: str) -> list[str]: ...


class Instances(Protocol):
    def set_control(
        self, instance_id: int, control: str | None, reason: str | None = None, expected: Any = ()
    ) -> bool: ...

    def add_exported(self, instance_id: int, keys: list[str]) -> None: ...


@dataclass
class ActivityContext:
    """What every activity knows about its run."""

    blobs: BlobStore
    bucket: str
    history: History
    instances: Instances
    catalog: dict[str, Any]  # the tenant's catalog settings (warehouse/catalog)
    instance_id: int
    design_id: str
    workflow_key: str
    mode: str
    space: Space
    insert_batch_limit: int
    create_files_in_test_mode: bool
    exclude_instances: list[int]
    history_activities: list[str]  # the workflow's offer and control activities
    now: datetime
    # single-instance recurring: which run of the instance (0 the first), and how many records
    # each audience with a maximum target limit may still target
    run: int = 0
    target_limits: dict[str, int] = field(default_factory=dict)
    secrets: SecretStore | None = None  # an encrypted export's recipient key (switchyard/pgp/...)
    config: Any = None  # the configuration table (an export's destination), a ConfigSource


def table_locations(blobs: BlobStore, bucket: str) -> dict[str, str]:
    """Warehouse table name -> Parquet key: domain tables, ``customers``, database tables."""
    out: dict[str, str] = {}
    for key in blobs.list(bucket, "domain/"):
        parts = key.split("/")
        if len(parts) == 3 and parts[2] == "data.parquet":
            out[parts[1]] = key
    if blobs.get(bucket, CUSTOMERS_KEY) is not None:
        out["customers"] = CUSTOMERS_KEY
    for key in blobs.list(bucket, "db/"):
        parts = key.split("/")
        if len(parts) == 3 and parts[2].endswith(".parquet"):
            out.setdefault(parts[2].removesuffix(".parquet"), key)
    return out


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "activity"


def audience_key(space: Space | str, instance_id: int, name: str) -> str:
    return f"interactions/{space}/{instance_id}/{slug(name)}.parquet"


_SQL_OPS = {"=": "=", "!=": "<>", ">": ">", ">=": ">=", "<": "<", "<=": "<="}


def _column_sql(column: str) -> str:
    if "." in column:
        table, name = column.split(".", 1)
        return f"{identifier(table)}.{identifier(name, 'column')}"
    return f"a.{identifier(column, 'column')}"


def rule_conditions(rules: list[Rule], match: str) -> tuple[str, list[Any]]:
    """Rules as one SQL condition over ``a`` (and joined tables), with bound values."""
    params: list[Any] = []
    conditions = []
    for rule in rules:
        col = _column_sql(rule.column)
        if rule.operator == "is_null":
            conditions.append(f"{col} IS NULL")
        elif rule.operator == "not_null":
            conditions.append(f"{col} IS NOT NULL")
        elif rule.operator in ("in", "not_in"):
            marks = ", ".join("?" for _ in rule.value)
            conditions.append(f"{col} {'NOT IN' if rule.operator == 'not_in' else 'IN'} ({marks})")
            params.extend(rule.value)
        elif rule.operator == "contains":
            conditions.append(f"contains(CAST({col} AS VARCHAR), ?)")
            params.append(str(rule.value))
        else:
            conditions.append(f"{col} {_SQL_OPS[rule.operator]} ?")
            params.append(rule.value)
    joiner = " AND " if match == "all" else " OR "
    return (f"({joiner.join(conditions)})" if conditions else "TRUE"), params


def audience_path(ctx: ActivityContext, previous: dict[str, Any], folder: str) -> str:
    if "location" not in previous:
        raise MissingTableError("This activity needs an audience before it in its branch.")
    path = download(ctx.blobs, ctx.bucket, str(previous["location"]), folder, "audience.parquet")
    if path is None:
        raise MissingTableError(f"The audience {previous.get('audience')!r} of this run was not found.")
    return path
