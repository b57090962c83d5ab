"""The state file: a header (format, moto's version, each group's size and SHA-256) and the
groups' bytes, written atomically, read back with the previous file as the fallback."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import moto

from switchyard.observability import logger

FORMAT = 1
MAGIC = b"SWITCHYARD-LOCAL-STATE\n"
FILE = "state.bin"
PREVIOUS = "state.bin.prev"


class StateUnreadable(Exception):
    """No snapshot in the state folder can be read (what was tried is in the message)."""


@dataclass
class Snapshot:
    groups: dict[str, bytes]
    extras: dict[str, Any]
    saved_at: float
    path: Path | None = None
    moto: str = ""  # the version that wrote it


def encode(snapshot: Snapshot) -> bytes:
    header = {
        "format": FORMAT,
        "moto": moto.__version__,
        "saved_at": snapshot.saved_at,
        "groups": [
            {"name": n, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()}
            for n, b in snapshot.groups.items()
        ],
        "extras": snapshot.extras,
    }
    return b"".join([MAGIC, json.dumps(header).encode(), b"\n", *snapshot.groups.values()])


def decode(raw: bytes) -> Snapshot:
    """The snapshot in ``raw``; ValueError when it is not a whole, undamaged one."""
    if not raw.startswith(MAGIC):
        raise ValueError("not a Switchyard state file")
    head, sep, rest = raw[len(MAGIC) :].partition(b"\n")
    if not sep:
        raise ValueError("the header is cut short")
    header = json.loads(head)
    if header.get("format") != FORMAT:
        raise ValueError(f"format {header.get('format')!r}, this code reads {FORMAT}")
    groups: dict[str, bytes] = {}
    offset = 0
    for entry in header["groups"]:
        chunk = rest[offset : offset + entry["size"]]
        offset += entry["size"]
        if len(chunk) != entry["size"] or hashlib.sha256(chunk).hexdigest() != entry["sha256"]:
            raise ValueError(f"the {entry['name']} data is cut short or damaged")
        groups[entry["name"]] = chunk
    if offset != len(rest):
        raise ValueError("trailing bytes after the data")
    return Snapshot(
        groups=groups,
        extras=dict(header.get("extras") or {}),
        saved_at=header["saved_at"],
        moto=str(header.get("moto") or ""),
    )


def write(directory: Path, snapshot: Snapshot) -> Path:
    """Atomically: a temporary file, fsynced, renamed over ``state.bin`` (the one it replaces
    becomes ``state.bin.prev``)."""
    directory.mkdir(parents=True, exist_ok=True)
    target, previous = directory / FILE, directory / PREVIOUS
    tmp = directory / f".{FILE}.{os.getpid()}.tmp"
    with open(tmp, "wb") as out:
        out.write(encode(snapshot))
        out.flush()
        os.fsync(out.fileno())
    if target.exists():
        os.replace(target, previous)
    os.replace(tmp, target)
    with contextlib.suppress(OSError):  # make the renames themselves durable
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return target


def load(directory: Path) -> Snapshot | None:
    """The newest readable snapshot in ``directory``; None when there is none at all.

    Raises :class:`StateUnreadable` when snapshots are there but none can be read.
    """
    problems = []
    for name in (FILE, PREVIOUS):
        path = directory / name
        if not path.exists():
            continue
        try:
            snapshot = decode(path.read_bytes())
        except (ValueError, OSError, KeyError, TypeError) as exc:
            problems.append(f"{path}: {exc}")
            continue
        if problems:
            logger.warning("state file unreadable, using the previous snapshot", extra={"problems": problems})
        snapshot.path = path
        return snapshot
    if problems:
        raise StateUnreadable("; ".join(problems))
    return None
