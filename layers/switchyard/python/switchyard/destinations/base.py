"""What every destination adapter offers."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any, Protocol

from switchyard.adapters.blobs import BlobStore
from switchyard.adapters.secrets import SecretStore


@dataclass
class Delivery:
    """One audience to deliver: its rows and where it comes from."""

    campaign: str
    workflow_id: str
    run_date: str
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def csv_bytes(self) -> bytes:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return buf.getvalue().encode()

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]

    @property
    def file_name(self) -> str:
        return f"{self.campaign}_{self.run_date.replace('-', '')}_{self.workflow_id[:8]}.csv"


@dataclass
class Services:
    blobs: BlobStore
    secrets: SecretStore
    default_bucket: str


class Destination(Protocol):
    kind: str

    def send(self, config: dict[str, Any], delivery: Delivery, services: Services) -> dict[str, Any]: ...
