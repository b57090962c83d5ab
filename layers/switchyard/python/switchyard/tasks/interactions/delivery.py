"""Delivering an interaction export's files through a file destination (docs/interactions.md,
"Delivering exports").

The catalog maps a channel to a destination (``channel_destinations: {"email": "partner_sftp"}``)
and an export template may name one (``destination``); an export delivers through its channel's
destination, else its template's. Destinations are the same configuration entries (kind
``destination``) and adapters the campaigns use; only file destinations, ``s3`` and ``sftp``,
take an export's files. Credentials stay in Secrets Manager, named by the destination's
``secret``.

Delivered files cannot be recalled: a rollback removes the instance's files from the data bucket
and reports the delivered ones as not recalled (:func:`delivered_locations`).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from switchyard.adapters.blobs import BlobStore
from switchyard.adapters.secrets import SecretStore
from switchyard.destinations.base import Services
from switchyard.destinations.registry import DESTINATIONS
from switchyard.domain.interactions.activities import CATALOG_KIND, CATALOG_NAME, Export
from switchyard.domain.interactions.instances import Space
from switchyard.domain.task_errors import ExportDestinationError, TaskError
from switchyard.tasks.interactions.context import ActivityContext

FILE_KINDS = ("s3", "sftp")


@dataclass(frozen=True)
class ExportDestination:
    name: str
    via: str  # "channel" or "template": which part of the export named it
    config: dict[str, Any]


def destination_name(export: Export, catalog: dict[str, Any]) -> tuple[str, str] | None:
    """(destination, "channel" | "template") an export delivers through; None: it only writes."""
    if export.channel:
        name = (catalog.get("channel_destinations") or {}).get(export.channel)
        if name:
            return str(name), "channel"
    if export.template:
        template = (catalog.get("export_templates") or {}).get(export.template) or {}
        if template.get("destination"):
            return str(template["destination"]), "template"
    return None


def destination_problem(name: str, config: Any) -> tuple[str, str] | None:
    """(code, message) when ``name`` cannot take an export's files; None when it can."""
    found = config.get("destination", name) if config is not None else None
    if found is None:
        return (
            "unknown_destination",
            f"Destination {name!r} is not configured: add it (kind s3 or sftp) or map the channel "
            "or template to another destination.",
        )
    kind = found.get("kind")
    if kind not in FILE_KINDS:
        return (
            "not_a_file_destination",
            f"Destination {name!r} is a {kind} destination: an export delivers files, through an "
            f"s3 or sftp destination.",
        )
    return None


def resolve(export: Export, catalog: dict[str, Any], config: Any) -> ExportDestination | None:
    """The export's destination when it runs; an unusable one fails it before anything is written."""
    named = destination_name(export, catalog)
    if named is None:
        return None
    name, via = named
    problem = destination_problem(name, config)
    if problem is not None:
        code, message = problem
        raise ExportDestinationError(
            f"{message} Nothing was exported.", {"destination": name, "via": via, "problem": code}
        )
    return ExportDestination(name=name, via=via, config={"name": name, **config.get("destination", name)})


def _services(blobs: BlobStore, secrets: SecretStore | None, bucket: str) -> Services:
    return Services(blobs=blobs, secrets=secrets, default_bucket=bucket)  # type: ignore[arg-type]


def _failed(exc: TaskError, destination: ExportDestination, what: str, delivered: list[str]) -> TaskError:
    """The adapter's error (its class, so its code and resolutions, kept), saying which
    destination and what arrived before it."""
    arrived = f" Delivered before the failure (not recalled): {', '.join(delivered)}." if delivered else ""
    return type(exc)(
        f"The export could not {what} destination {destination.name!r}: {exc}{arrived}",
        {**exc.detail, "destination": destination.name, "delivered": list(delivered)},
    )


def remote_names(ctx: ActivityContext, destination: ExportDestination) -> set[str]:
    """The file names already at the destination (a delivery never overwrites one)."""
    adapter = DESTINATIONS[destination.config["kind"]]
    try:
        return set(adapter.names(destination.config, _services(ctx.blobs, ctx.secrets, ctx.bucket)))
    except TaskError as exc:
        raise _failed(exc, destination, "list the files of", []) from None


def log_prefix(space: Space | str, instance_id: int) -> str:
    """Where an instance's deliveries are logged, one JSON file per delivery (also a failed one
    part-way): what a rollback reports as not recalled. Task errors carry no detail across the
    Lambda boundary, so the log is a file, written before the error is raised."""
    return f"interactions/{space}/{instance_id}/delivered/"


def deliver(
    ctx: ActivityContext, activity: str, destination: ExportDestination, files: list[tuple[str, bytes]]
) -> list[dict[str, str]]:
    """Upload ``files`` (name, body) in order; each delivered one as {file, destination, location}."""
    adapter = DESTINATIONS[destination.config["kind"]]
    delivered: list[str] = []
    try:
        adapter.put_files(destination.config, files, _services(ctx.blobs, ctx.secrets, ctx.bucket), delivered)
    except TaskError as exc:
        raise _failed(exc, destination, "be delivered to", delivered) from None
    finally:
        if delivered:
            entry = {"activity": activity, "destination": destination.name, "locations": delivered}
            key = f"{log_prefix(ctx.space, ctx.instance_id)}{uuid.uuid4().hex}.json"
            ctx.blobs.put(ctx.bucket, key, json.dumps(entry).encode())
    return [
        {"file": name, "destination": destination.name, "location": location}
        for (name, _), location in zip(files, delivered, strict=True)
    ]


def delivered_locations(blobs: BlobStore, bucket: str, space: Space | str, instance_id: int) -> list[str]:
    """Every location the instance's exports delivered a file to (what a rollback cannot recall)."""
    out: list[str] = []
    for key in sorted(blobs.list(bucket, log_prefix(space, instance_id))):
        body = blobs.get(bucket, key)
        if body:
            out.extend(str(x) for x in json.loads(body).get("locations") or [])
    return list(dict.fromkeys(out))


def export_secret(activity: dict[str, Any], config: Any) -> str | None:
    """The secret of the destination an export activity (as stored in its task's inputs) delivers
    to: what the ``update_credentials`` resolution replaces."""
    catalog = config.get(CATALOG_KIND, CATALOG_NAME) or {}
    named = destination_name(Export.model_validate(activity), catalog)
    found = config.get("destination", named[0]) if named else None
    return str(found["secret"]) if found and found.get("secret") else None
