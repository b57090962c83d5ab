"""``python -m switchyard.local``: what ``make run`` starts."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

# Quiet by default: set before the shared Logger is built (POWERTOOLS_LOG_LEVEL=INFO for more).
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from switchyard.local.http import ApiServer
from switchyard.local.runtime import LocalRuntime
from switchyard.local.seed import seed
from switchyard.services.deps import get_deps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run Switchyard locally, AWS emulated in process.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SWITCHYARD_PORT", "8000")))
    parser.add_argument("--no-demo", action="store_true", help="start empty (no demo tenant)")
    args = parser.parse_args(argv)

    base = f"http://{args.host}:{args.port}"
    runtime = LocalRuntime(console_url=base).start()
    token = runtime.create_token("admin", "administrator", os.environ.get("SWITCHYARD_LOCAL_TOKEN") or None)
    # More people to try the roles with: "user:role:token,..." (e.g. "ann:audience_only:ann-token").
    for spec in filter(None, os.environ.get("SWITCHYARD_LOCAL_EXTRA_TOKENS", "").split(",")):
        user, role, extra = spec.strip().split(":", 2)
        runtime.create_token(user, role, extra)
    server = ApiServer(runtime.dispatcher, args.host, args.port)
    server.start()
    runtime.clock.start()  # fires EventBridge Scheduler schedules every second
    print(f"Switchyard is running at {base}", flush=True)
    if not args.no_demo:
        print("Seeding the demo tenant (two runs: one succeeds, one waits for a resolution)...", flush=True)
        ids = seed(get_deps())
        for label, wid in ids.items():
            print(f"  {label:>9}: {base}/api/workflows/{wid}", flush=True)
    print(f"Console:     {base}/console/", flush=True)
    print(f"API:         {base}/api/workflows   (OpenAPI: {base}/openapi.json)", flush=True)
    print(f"Schedules:   {base}/api/schedules   (fired by the local clock every second)", flush=True)
    print(f"Admin token: {token}", flush=True)
    print(f'Try:         curl -H "Authorization: Bearer {token}" {base}/api/workflows', flush=True)
    print("Ready. Press Ctrl-C to stop.", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    print("Stopping...", flush=True)
    server.stop()
    runtime.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
