"""``python -m switchyard.admin create-token``: issue an API token (its digest is stored)."""

from __future__ import annotations

import argparse
import dataclasses
import secrets
import sys
from datetime import UTC, datetime, timedelta

from switchyard import declarations as d
from switchyard.api.auth import Role
from switchyard.services.deps import build_deps
from switchyard.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m switchyard.admin")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create-token", help="create an API token and print it once")
    create.add_argument("--user", required=True)
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--tenant", default="default")
    create.add_argument("--table", default=d.TABLE_NAMES["tokens"], help="the tokens table (stack output)")
    create.add_argument("--region", default=None)
    create.add_argument(
        "--expires-in-days",
        type=int,
        default=None,
        help="refuse the token after this many days (default: never)",
    )
    args = parser.parse_args(argv)

    # the deployment's settings from the environment, with the table and region given here: the
    # same wiring (build_deps) as every function's
    settings = Settings.from_env()
    settings = dataclasses.replace(settings, tokens_table=args.table, region=args.region or settings.region)
    tokens = build_deps(settings).tokens
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    expires = now + timedelta(days=args.expires_in_days) if args.expires_in_days else None
    tokens.put(
        token,
        user=args.user,
        role=args.role,
        tenant=args.tenant,
        created_at=now,
        created_by="admin-cli",
        expires_at=expires,
    )
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
