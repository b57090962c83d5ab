"""Fixtures more than one tier uses; each tier's conftest imports the ones it needs.

None of them is autouse: a module whose tests all need one says so with
``pytestmark = pytest.mark.usefixtures(...)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from switchyard.services.deps import Deps

from tests.support.interaction_triggers import TABLE_KEY
from tests.support.interactions import CATALOG, CUSTOMERS, parquet
from tests.support.interactive import LIVE_TABLE, live_records


@pytest.fixture
def clock(deps: Deps, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``clock(minutes)``: the engine's time moves that far ahead of the real one (tests move it
    instead of waiting for real minutes)."""
    real = deps.clock
    ahead = [timedelta(0)]
    monkeypatch.setattr(deps, "clock", lambda: real() + ahead[0])

    def move(minutes: float) -> None:
        ahead[0] += timedelta(minutes=minutes)

    return move


@pytest.fixture
def live(deps: Deps) -> Iterator[Any]:
    """A warehouse table the test grows between cycles (``live(n)``: it holds n customers)."""
    bucket = deps.settings.data_bucket
    levels = {**CATALOG["resolution_levels"], "ix_live": {"table": "ix_live", "key": "customer_id"}}  # type: ignore[dict-item]
    deps.config.put("warehouse", "catalog", {**CATALOG, "resolution_levels": levels})

    def put(n: int) -> None:
        deps.blobs.put(bucket, LIVE_TABLE, live_records(n))

    put(10)
    yield put
    deps.blobs.delete(bucket, LIVE_TABLE)
    deps.config.put("warehouse", "catalog", CATALOG)


@pytest.fixture(scope="module")
def warehouse(deps: Deps) -> Iterator[None]:
    """The interactions' warehouse (tests/support/interactions.py): ``ix_customers``, ``ix_orders``
    and the catalog that describes them, written once per module that asks for it."""
    bucket = deps.settings.data_bucket
    deps.blobs.put(
        bucket,
        "domain/ix_customers/data.parquet",
        parquet(
            f"SELECT 'c' || lpad(i::VARCHAR, 4, '0') AS customer_id, 'p' || i || '@example.com' AS email, "
            f"CASE WHEN i % 2 = 0 THEN 'west' ELSE 'east' END AS region, i AS score "
            f"FROM range({CUSTOMERS}) t(i)"
        ),
    )
    deps.blobs.put(
        bucket,
        "domain/ix_orders/data.parquet",
        parquet(
            "SELECT 'o' || i AS order_id, 'c' || lpad((i % 30)::VARCHAR, 4, '0') AS customer_id, "
            "i * 10 AS amount FROM range(90) t(i)"
        ),
    )
    deps.config.put("warehouse", "catalog", CATALOG)
    yield


@pytest.fixture(scope="module")
def retry_table(deps: Deps, warehouse: None) -> Iterator[bytes]:
    """A second customer table with its own resolution level, which tests take away and put back."""
    bucket = deps.settings.data_bucket
    data = deps.blobs.get(bucket, "domain/ix_customers/data.parquet")
    assert data is not None
    deps.blobs.put(bucket, TABLE_KEY, data)
    levels = {
        **CATALOG["resolution_levels"],
        "ixr_customer": {"table": "ixr_customers", "key": "customer_id"},
    }
    deps.config.put("warehouse", "catalog", {**CATALOG, "resolution_levels": levels})
    yield data
    deps.config.put("warehouse", "catalog", CATALOG)
