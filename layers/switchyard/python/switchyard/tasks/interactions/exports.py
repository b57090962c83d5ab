"""Export activities: the audience as a delimited file in S3 (optionally PGP-encrypted), with
its summary and sample, delivered to the export's destination when it names one.
"""

from __future__ import annotations

import os
import posixpath
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from switchyard.adapters.blobs import BlobStore
from switchyard.domain.interactions.activities import Export
from switchyard.domain.task_errors import PgpKeyError
from switchyard.tasks.interactions import delivery
from switchyard.tasks.interactions.activities import write_table
from switchyard.tasks.interactions.context import DELIMITER, EXPORT_FILE, ActivityContext, audience_path
from switchyard.tasks.pgp import (
    PGP_SUFFIX,
    SIGN_ALONE,
    encrypt_file,
    key_names,
    recipients_for_run,
    signer_for_run,
)
from switchyard.tasks.tables import identifier, workspace


def unique_names(
    blobs: BlobStore, bucket: str, folder: str, suffix: str = "", elsewhere: set[str] | None = None
) -> tuple[str, str, str]:
    """actionExport.txt, its summary and sample; ``_1``, ``_2``... when the names are taken.

    ``suffix`` (``.pgp`` for an encrypted export) ends the data file's and the sample's names;
    the summary keeps the plain name (``actionExport.txt_summary.xml``). ``elsewhere``: file
    names taken at the destination the files are delivered to."""
    taken = set(blobs.list(bucket, folder.rstrip("/") + "/"))
    taken |= {posixpath.join(folder, name) for name in elsewhere or ()}
    stem, ext = EXPORT_FILE.rsplit(".", 1)
    n = 0
    while True:
        name = f"{stem}{'' if n == 0 else f'_{n}'}"
        plain = posixpath.join(folder, f"{name}.{ext}")
        summary = f"{plain}_summary.xml"
        sample = posixpath.join(folder, f"{name}_sample")
        # a stem is free when neither its plain nor its encrypted files are there
        if not {plain, summary, sample, plain + PGP_SUFFIX, sample + PGP_SUFFIX} & taken:
            return plain + suffix, summary, sample + suffix
        n += 1


def run_export(e: Export, ctx: ActivityContext, previous: dict[str, Any]) -> dict[str, Any]:
    if ctx.mode == "test" and not ctx.create_files_in_test_mode:
        return {
            **previous,
            "exported": 0,
            "warnings": ["Test mode: no files created (the workflow does not create files in test mode)."],
        }
    template = (ctx.catalog.get("export_templates") or {}).get(e.template) if e.template else None
    columns = (
        list(e.columns) or list((template or {}).get("columns") or []) or list(previous.get("columns", []))
    )
    select = ", ".join(identifier(c, "column") for c in columns)
    folder_key = e.folder.strip("/")
    recipients, signer = _export_keys(e, ctx, template)  # before anything is written
    suffix = PGP_SUFFIX if recipients else ""
    destination = delivery.resolve(e, ctx.catalog, ctx.config)  # before anything is written
    remote = delivery.remote_names(ctx, destination) if destination else None
    data_key, summary_key, sample_key = unique_names(ctx.blobs, ctx.bucket, folder_key, suffix, remote)
    delivered: list[dict[str, str]] = []
    with workspace() as (con, folder):
        path = audience_path(ctx, previous, folder)
        local = os.path.join(folder, EXPORT_FILE)
        sample = os.path.join(folder, "sample.txt")
        options = f"(HEADER, DELIMITER '{DELIMITER}')"
        con.execute(f"COPY (SELECT {select} FROM read_parquet('{path}')) TO '{local}' {options}")
        limit = int(e.sample_size)
        con.execute(
            f"COPY (SELECT {select} FROM read_parquet('{path}') LIMIT {limit}) TO '{sample}' {options}"
        )
        (n,) = con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone() or (0,)
        if recipients:  # only ciphertext leaves the function's scratch folder
            for plain in (local, sample):
                encrypt_file(recipients, plain, plain + suffix, signer)
            local, sample = local + suffix, sample + suffix
        with open(local, "rb") as fh:
            data_body = fh.read()
        with open(sample, "rb") as fh:
            sample_body = fh.read()
        encrypted = _encrypted(recipients, signer) if recipients else None
        summary = summary_xml(
            design=ctx.design_id,
            workflow=ctx.workflow_key,
            instance=ctx.instance_id,
            activity=e.name,
            records=int(n),
            file=posixpath.basename(data_key),
            columns=columns,
            at=ctx.now,
            encryption=encrypted,
        ).encode()
        written = [(data_key, data_body), (sample_key, sample_body), (summary_key, summary)]
        for key, body in written:
            ctx.blobs.put(ctx.bucket, key, body)
        if destination is not None:  # the summary last: its arrival says the files are complete
            try:
                files = [(posixpath.basename(k), b) for k, b in written]
                delivered = delivery.deliver(ctx, e.name, destination, files)
            except Exception:
                for key, _ in written:  # a retry writes and delivers them again
                    ctx.blobs.delete(ctx.bucket, key)
                raise
        extract = []
        if e.database and e.table:  # a database-table extract
            query = f"SELECT {select} FROM read_parquet('{path}')"
            extract = [write_table(ctx, con, folder, query, e.database, e.table, e.mode)]
    keys = [data_key, summary_key, sample_key, *extract]
    ctx.instances.add_exported(ctx.instance_id, keys)
    ctx.history.put_meta(
        ctx.space,
        ctx.instance_id,
        str(previous.get("audience")),
        records=int(n),
        fulfilment=e.name,
        offer_code=previous.get("offer_code"),
        channel=e.channel,
        metadata=None,
        at=ctx.now,
    )
    # an earlier export's encryption is not this one's
    out = {**{k: v for k, v in previous.items() if k != "encrypted"}, "exported": int(n), "files": keys}
    if encrypted:
        out["encrypted"] = encrypted
    if destination is not None:
        out["delivered"] = delivered
    return out


def _key_xml(key: dict[str, str]) -> str:
    return f"<Key>{escape(key['pgp_key'])}</Key><Fingerprint>{escape(key['fingerprint'])}</Fingerprint>"


def _export_keys(e: Export, ctx: ActivityContext, template: dict[str, Any] | None) -> tuple[list[Any], Any]:
    """The recipients an export encrypts for and the key that signs it (None: unsigned); the
    activity's keys win over its template's. A missing or unusable key raises PgpKeyError."""
    keys = key_names(e.pgp_key or (template or {}).get("pgp_key"))
    sign_key = e.pgp_sign_key or (template or {}).get("pgp_sign_key")
    if not keys and not sign_key:
        return [], None
    if not keys:
        detail = {"pgp_sign_key": sign_key, "problem": "pgp_sign_without_pgp_key"}
        raise PgpKeyError(f"{SIGN_ALONE} Nothing was exported.", detail)
    recipients = recipients_for_run(ctx.secrets, keys)
    return recipients, signer_for_run(ctx.secrets, str(sign_key)) if sign_key else None


def _encrypted(recipients: list[Any], signer: Any) -> dict[str, Any]:
    """The activity's ``encrypted`` output: who can decrypt, and who signed."""
    out: dict[str, Any] = {
        "recipients": [{"pgp_key": r.name, "fingerprint": r.fingerprint} for r in recipients]
    }
    if signer is not None:
        out["signed_by"] = {"pgp_key": signer.name, "fingerprint": signer.fingerprint}
    return out


def summary_xml(
    *,
    design: str,
    workflow: str,
    instance: int,
    activity: str,
    records: int,
    file: str,
    columns: list[str],
    at: datetime,
    encryption: dict[str, Any] | None = None,
) -> str:
    cols = "".join(f"<Column>{escape(c)}</Column>" for c in columns)
    encrypted = ""
    if encryption:  # each recipient's key and fingerprint, in order; then who signed
        keys = "".join(_key_xml(r) for r in encryption["recipients"])
        signed = encryption.get("signed_by")
        signed_by = f"<SignedBy>{_key_xml(signed)}</SignedBy>" if signed else ""
        encrypted = f"<Encryption><Method>PGP</Method>{keys}{signed_by}</Encryption>"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<ExportSummary><Interaction>{escape(design)}</Interaction><Workflow>{escape(workflow)}</Workflow>"
        f"<Instance>{instance}</Instance><Activity>{escape(activity)}</Activity>"
        f"<File>{escape(file)}</File>{encrypted}<Records>{records}</Records><Columns>{cols}</Columns>"
        f"<CreatedAt>{at.isoformat()}</CreatedAt></ExportSummary>\n"
    )
