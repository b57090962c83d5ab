"""``python -m switchyard.local``: what ``make run`` starts."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import secrets
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Quiet by default: set before the shared Logger is built (POWERTOOLS_LOG_LEVEL=INFO for more).
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

# Only the standard library above this line and in the module: Ctrl-C is handled from the first
# moment of main(), before the heavy imports (moto, boto3, pydantic) that start-up does.
TOKEN_FILE = "admin-token"  # noqa: S105 - a file name
LOCK_FILE = "lock"
SNAPSHOT_FILES = ("state.bin", "state.bin.prev")  # local/state_file.py's FILE and PREVIOUS
# What --reset removes from the state folder (nothing else: the folder may be one you chose).
STATE_FILES = (*SNAPSHOT_FILES, TOKEN_FILE, LOCK_FILE)
# Lambda handlers run in this many worker processes (SWITCHYARD_LOCAL_WORKERS; 0: in this one)
DEFAULT_WORKERS = 2


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM before "Ready": unwinds start-up from wherever it is."""


def reset(directory: Path) -> None:
    """Start from scratch: remove the kept account (and the folder, when nothing else is in it)."""
    for name in STATE_FILES:
        (directory / name).unlink(missing_ok=True)
    for tmp in directory.glob(f".{SNAPSHOT_FILES[0]}.*.tmp"):
        tmp.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        directory.rmdir()


def lock(directory: Path) -> Any:
    """One runtime per state folder: two would write over each other's snapshots."""
    directory.mkdir(parents=True, exist_ok=True)
    handle = open(directory / LOCK_FILE, "w")  # noqa: SIM115 - held for the process's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def admin_token(directory: Path | None) -> str:
    """``$SWITCHYARD_LOCAL_TOKEN``, else the one printed last time (kept in the state folder)."""
    chosen = os.environ.get("SWITCHYARD_LOCAL_TOKEN")
    if chosen:
        return chosen
    path = directory / TOKEN_FILE if directory else None
    if path is not None and path.exists():
        kept = path.read_text().strip()
        if kept:
            return kept
    token = secrets.token_urlsafe(24)
    if path is not None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(token + "\n")
    return token


def state_dir() -> Path:
    """``$SWITCHYARD_STATE_DIR``, else ``.switchyard/`` at the top of the repository."""
    override = os.environ.get("SWITCHYARD_STATE_DIR")
    return Path(override).expanduser() if override else Path(__file__).resolve().parents[5] / ".switchyard"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run Switchyard locally, AWS emulated in process.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SWITCHYARD_PORT", "8000")))
    parser.add_argument("--no-demo", action="store_true", help="start empty (no demo tenant)")
    parser.add_argument(
        "--fresh", action="store_true", help="forget the kept state (.switchyard/) and start from scratch"
    )
    parser.add_argument("--reset", action="store_true", help="forget the kept state and exit")
    parser.add_argument(
        "--in-memory", action="store_true", help="keep nothing on disk (the state folder is not read)"
    )
    args = parser.parse_args(argv)
    directory = None if args.in_memory else state_dir()

    # Ctrl-C (or SIGTERM) stops at any moment: before "Ready" it unwinds start-up, after it
    # ends the wait below; a second one while stopping ends the process at once.
    stop = threading.Event()
    runtime: Any = None
    server: Any = None

    def on_signal(signum: int, frame: Any) -> None:
        if stop.is_set():
            os._exit(130)
        stop.set()
        if not ready.is_set():
            raise Interrupted

    ready = threading.Event()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    if directory is not None and (args.reset or args.fresh):
        held = lock(directory)
        if held is None:
            print(f"Another local runtime uses {directory}: stop it first.", file=sys.stderr, flush=True)
            return 2
        reset(directory)
        held.close()
        print(f"Local state in {directory} removed.", flush=True)
        if args.reset:
            return 0

    held = lock(directory) if directory is not None else None
    if directory is not None and held is None:
        print(
            f"Another local runtime uses {directory}: stop it, or set SWITCHYARD_STATE_DIR to "
            "another folder.",
            file=sys.stderr,
            flush=True,
        )
        return 2

    base = f"http://{args.host}:{args.port}"
    code = 0
    try:
        print(f"Starting Switchyard (state: {directory or 'in memory'})...", flush=True)
        # The runtime (moto, the services) takes seconds to load: --reset, --fresh and a state
        # folder another runtime holds are answered without it, and a Ctrl-C while it loads
        # finds its handler set (above).
        from switchyard.local import state as local_state  # lazy: see above
        from switchyard.local.http import ApiServer  # lazy: see above
        from switchyard.local.runtime import LocalRuntime  # lazy: see above
        from switchyard.local.seed import seed, seed_files  # lazy: see above
        from switchyard.services.deps import get_deps  # lazy: see above

        runtime = LocalRuntime(
            console_url=base,
            state_dir=directory,
            workers=int(os.environ.get("SWITCHYARD_LOCAL_WORKERS") or DEFAULT_WORKERS),
        )
        try:
            runtime.start()
        except local_state.StateUnreadable as exc:
            print(
                f"The local state cannot be read ({exc}).\n"
                "Nothing was changed. Start from scratch with `make reset` (or --fresh), or move "
                f"{directory} aside to keep it.",
                file=sys.stderr,
                flush=True,
            )
            return 2
        token = admin_token(directory)
        runtime.create_token("admin", "administrator", token)
        # More people to try the roles with: "user:role:token,..." (e.g. "ann:audience_only:ann-token").
        for spec in filter(None, os.environ.get("SWITCHYARD_LOCAL_EXTRA_TOKENS", "").split(",")):
            user, role, extra = spec.strip().split(":", 2)
            runtime.create_token(user, role, extra)
        server = ApiServer(runtime.dispatcher, args.host, args.port)
        server.start()
        runtime.clock.start()  # fires EventBridge Scheduler schedules every second
        print(f"Switchyard is running at {base}", flush=True)
        if directory is not None:
            kept = "kept from the last start" if runtime.restored else "new"
            print(f"State:       {directory} ({kept}; `make reset` starts from scratch)", flush=True)
        if runtime.swept is not None and runtime.swept.total():
            s = runtime.swept
            print(
                f"Interrupted: {len(s.resumed)} run(s) resumed, {len(s.failed)} failed as interrupted "
                f"(resolutions offered), {len(s.stopped)} stopped, {len(s.rearmed)} waiting for a resolution",
                flush=True,
            )
        demo = runtime.notes.get("demo")
        if not args.no_demo and not demo:
            print(
                "Seeding the demo tenant (two runs: one succeeds, one waits for a resolution)...", flush=True
            )
            demo = seed(get_deps())
            runtime.notes["demo"] = demo  # not seeded again at the next start
        elif demo:
            # today's source files arrive as a partner's daily drop would: the demo's couriers,
            # upload and ingest find files of the day they run on, whenever it was seeded
            seed_files(get_deps(), datetime.now(UTC).date())
            print("Demo tenant (seeded at an earlier start; today's files dropped):", flush=True)
        for label, wid in (demo or {}).items():
            print(f"  {label:>9}: {base}/api/workflows/{wid}", flush=True)
        print(f"Console:     {base}/console/", flush=True)
        print(f"API:         {base}/api/workflows   (OpenAPI: {base}/openapi.json)", flush=True)
        print(f"Schedules:   {base}/api/schedules   (fired by the local clock every second)", flush=True)
        print(f"Admin token: {token}", flush=True)
        print(f'Try:         curl -H "Authorization: Bearer {token}" {base}/api/workflows', flush=True)
        ready.set()
        if stop.is_set():
            raise Interrupted
        print("Ready. Press Ctrl-C to stop.", flush=True)
        stop.wait()
    except Interrupted:
        code = 130
    print("Stopping...", flush=True)
    stop.set()
    ready.set()  # a signal now is the second one: it ends the process at once
    if server is not None:
        server.stop()
    if runtime is not None:
        runtime.stop()  # the last snapshot
    print("Stopped.", flush=True)
    sys.stdout.flush()
    sys.stderr.flush()
    # Step Functions executions are interpreter threads (Wait states sleep in them): do not wait
    # for them, they are not kept anyway (their runs are settled at the next start).
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
