"""The demo tenant: couriers with files, a courier group, and past runs (one waiting for a fix).

Every example in README.md and docs/ runs against it (tests/e2e/test_docs_examples.py): a
configuration item or file an example names belongs here.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
import time
import zipfile
from datetime import UTC, date, datetime
from typing import Any

from switchyard.domain.models import Mode, Principal, WorkflowStatus
from switchyard.services.alerts import AlertService
from switchyard.services.catalog import CatalogService
from switchyard.services.deps import Deps
from switchyard.services.interactions.service import InteractionService
from switchyard.services.schedules import ScheduleService
from switchyard.services.workflows import WorkflowService

FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Frances", "Dennis"]
LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Hamilton",
    "Thompson",
    "Allen",
    "Ritchie",
]

COURIERS: list[dict[str, str]] = [
    {"name": "crm", "prefix": "drops/crm/", "pattern": "crm_contacts_{date}*.csv", "table": "crm_contacts"},
    {"name": "web", "prefix": "drops/web/", "pattern": "web_signups_{date}*.csv", "table": "web_signups"},
    # Its file never arrives in the demo: runs that include it fail with missing_file.
    {"name": "pos", "prefix": "drops/pos/", "pattern": "pos_customers_{date}*.csv", "table": "pos_customers"},
]
GROUPS: list[dict[str, Any]] = [
    {"name": "daily", "couriers": ["crm", "pos", "web"], "stitch": {"match_on": ["email", "phone"]}},
    {"name": "crm_web", "couriers": ["crm", "web"], "stitch": {"match_on": ["email", "phone"]}},
]

DATABASES: list[dict[str, Any]] = [
    {
        "name": "marketing",
        "domain_tables": ["crm_contacts", "web_signups"],
        "tables": [
            {
                "name": "contactable",
                "sql": "SELECT customer_id, email, first_name FROM customers WHERE email IS NOT NULL",
            },
            {
                "name": "signups_by_name",
                "sql": "SELECT first_name, count(*) AS customers FROM customers GROUP BY first_name",
            },
        ],
        "queries": [
            # warns: some customers came only from web sign-ups and have no first name
            {
                "name": "customers_without_first_name",
                "sql": "SELECT count(*) FROM customers WHERE first_name IS NULL",
                "warn_above": 0,
                "fail_above": 1000,
            },
            {
                "name": "contactable_customers",
                "sql": "SELECT count(*) FROM contactable",
                "fail_above": 100000,
            },
        ],
    },
]

# docs/workflow-types.md: a file upload (one CSV a day) and an ingest (a zip of members and an
# optional gzip of points), with today's files dropped under uploads/.
FILE_UPLOADS: list[dict[str, Any]] = [
    {
        "name": "loyalty",
        "prefix": "uploads/loyalty/",
        "pattern": "loyalty_{date}.csv",
        "table": "loyalty",
        "columns": ["id", "email", "points"],
        "required": True,
    },
]
INGESTS: list[dict[str, Any]] = [
    {
        "name": "partner_feed",
        "prefix": "uploads/partner/",
        "tables": [
            {"pattern": "members_{date}.zip", "table": "partner_members", "columns": ["id", "email", "tier"]},
            {"pattern": "points_{date}.csv.gz", "table": "partner_points", "required": False},
        ],
    },
]

VALIDATIONS: list[dict[str, Any]] = [
    {
        "name": "daily_inputs",
        "tables": [
            {
                "table": "crm_contacts",
                "min_rows": 100,
                "columns": {"email": {"warn_above": 0.01, "fail_above": 0.5}},
            },
            # web sign-ups rarely leave a phone number: a warning, not a failure
            {"table": "web_signups", "columns": {"phone": {"warn_above": 0.5}, "email": {"fail_above": 0.1}}},
        ],
    }
]

AUDIENCE_SQL = "SELECT customer_id, email, first_name FROM customers WHERE email IS NOT NULL"
SENDS: dict[str, list[dict[str, Any]]] = {
    "destination": [
        {"name": "exports", "kind": "s3", "prefix": "exports/"},
        # valid-looking configuration, no credentials stored: a send fails with invalid_credentials
        {
            "name": "braze_newsletter",
            "kind": "braze",
            "secret": "switchyard/destinations/braze",
            "list": "Newsletter",
        },
    ],
    "campaign": [
        {"name": "welcome", "audience_sql": AUDIENCE_SQL, "destinations": ["exports"]},
        {"name": "newsletter", "audience_sql": AUDIENCE_SQL, "destinations": ["exports", "braze_newsletter"]},
    ],
    "orchestration": [
        {
            "name": "reactivation",
            "audience_sql": (
                "SELECT customer_id, email FROM customers WHERE records = 1 AND email IS NOT NULL"
            ),
            "destinations": ["exports"],
        },
    ],
    "orchestration_group": [{"name": "nightly", "orchestrations": ["reactivation"]}],
}


def people(n: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        first, last = FIRST[rng.randrange(len(FIRST))], LAST[rng.randrange(len(LAST))]
        out.append(
            {
                "first_name": first,
                "last_name": last,
                "email": f"{first}.{last}{i % (n // 2 or 1)}@example.com".lower(),
                "phone": f"+1 (555) {rng.randrange(100, 999)}-{i:04d}",
            }
        )
    return out


def to_csv(rows: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode()


def seed_files(deps: Deps, run_date: date, rows: int = 200) -> None:
    bucket = deps.settings.data_bucket
    stamp = run_date.strftime("%Y%m%d")
    base = people(rows, seed=7)
    crm = [{"id": f"crm-{i:05d}", **p} for i, p in enumerate(base)]
    # Web sign-ups share some emails with the CRM (they stitch to the same customer).
    web = [
        {"id": f"web-{i:05d}", "email": p["email"].upper() if i % 3 == 0 else p["email"], "phone": ""}
        for i, p in enumerate(base[: rows // 2])
    ] + [
        # and some people the CRM does not know yet (no first name anywhere)
        {"id": f"web-new-{i:03d}", "email": f"newcomer{i}@example.org", "phone": ""}
        for i in range(rows // 10)
    ]
    deps.blobs.put(bucket, f"drops/crm/crm_contacts_{stamp}.csv", to_csv(crm))
    deps.blobs.put(bucket, f"drops/web/web_signups_{stamp}.csv", to_csv(web))
    seed_uploads(deps, base, stamp)


def seed_uploads(deps: Deps, base: list[dict[str, str]], stamp: str) -> None:
    """Today's drops for the file upload and the ingest. The loyalty file also holds
    ada.lovelace@example.com, the address docs/workflow-types.md's CCPA delete removes."""
    bucket = deps.settings.data_bucket
    loyalty = [
        {"id": f"loy-{i:05d}", "email": p["email"], "points": str(10 * (i % 37))} for i, p in enumerate(base)
    ]
    loyalty.append({"id": "loy-ada", "email": "ada.lovelace@example.com", "points": "120"})
    deps.blobs.put(bucket, f"uploads/loyalty/loyalty_{stamp}.csv", to_csv(loyalty))
    tiers = ["bronze", "silver", "gold"]
    members = [
        {"id": f"pm-{i:05d}", "email": p["email"], "tier": tiers[i % 3]} for i, p in enumerate(base[:80])
    ]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("members.csv", to_csv(members))
        z.writestr("README.txt", "Partner member export (demo).\n")  # not CSV: ignored
    deps.blobs.put(bucket, f"uploads/partner/members_{stamp}.zip", archive.getvalue())
    points = [{"id": m["id"], "points": str(5 * i)} for i, m in enumerate(members)]
    deps.blobs.put(bucket, f"uploads/partner/points_{stamp}.csv.gz", gzip.compress(to_csv(points), mtime=0))


def seed_config(deps: Deps) -> None:
    for courier in COURIERS:
        deps.config.put("courier", courier["name"], {**courier, "format": "csv"})
    for group in GROUPS:
        deps.config.put("courier_group", group["name"], group)
    for upload in FILE_UPLOADS:
        deps.config.put("file_upload", upload["name"], upload)
    for ingest in INGESTS:
        deps.config.put("ingest", ingest["name"], ingest)
    for database in DATABASES:
        deps.config.put("database", database["name"], database)
    for report in VALIDATIONS:
        deps.config.put("validation", report["name"], report)
    for kind, items in SENDS.items():
        for item in items:
            deps.config.put(kind, item["name"], item)
    deps.config.put("tenant", "default", {"alerts": ALERTS_PROFILE})
    seed_catalog(deps)


def seed_catalog(deps: Deps) -> None:
    """Through the catalog service, as an administrator would: validated, and in its history."""
    CatalogService(deps).replace(Principal(user="admin", role="administrator"), WAREHOUSE_CATALOG)


# The warehouse catalog interactions are designed against: the stitched customers table (written
# by the courier group runs) as the customer resolution level, email offers, and the `campaign`
# offer-history meta field (docs/interactions.md's "Spring welcome" design sets it).
WAREHOUSE_CATALOG: dict[str, Any] = {
    "resolution_levels": {"customer": {"table": "customers", "key": "customer_id"}},
    "primary_keys": {"customers": ["customer_id"]},
    "offer_history_meta": {"campaign": "string"},
    "channels": ["email"],
}


# Who may receive the demo tenant's alerts (docs/alerts.md), and who does.
ALERTS_PROFILE: dict[str, Any] = {
    "allowed_domains": ["example.com"],
    "slack_workspace": "demo",
    "support_email": "support@example.com",
}
DEMO_ALERTS: dict[str, Any] = {
    "courier_groups": {"emails": ["data-team@example.com"], "slack_channels": ["#data-alerts"]},
}


def seed_alerts(deps: Deps) -> None:
    AlertService(deps).change_settings(Principal(user="admin", role="administrator"), DEMO_ALERTS)


# The demo courier group runs every morning; the nightly orchestration group follows its success.
SCHEDULES: list[dict[str, Any]] = [
    {
        "name": "crm_web_morning",
        "workflow_type": "courier_group",
        "target": "crm_web",
        "expression": "cron(0 6 * * ? *)",
        "timezone": "Europe/London",
    },
    {
        "name": "nightly_after_crm_web",
        "workflow_type": "orchestration_group",
        "target": "nightly",
        "after_courier_group": "crm_web",
    },
]


def seed_schedules(deps: Deps) -> None:
    service = ScheduleService(deps)
    admin = Principal(user="admin", role="administrator")
    for schedule in SCHEDULES:
        service.create(admin, schedule["name"], {k: v for k, v in schedule.items() if k != "name"})


# Two interaction designs to try (docs/interactions.md): saved, not active. "Welcome offer" selects
# the contactable customers, offers them the welcome email and exports the file; "New sign-ups"
# offers it to customers as they arrive, every 15 minutes, each once.
WELCOME_EMAIL = {"type": "offer", "name": "Welcome email", "offer_code": "WELCOME", "channel": "email"}
DEMO_INTERACTIONS: list[dict[str, Any]] = [
    {
        "name": "Welcome offer",
        "description": "Demo: the contactable customers get the welcome email, and a file for the mail "
        "house.",
        "workflows": [
            {
                "key": "main",
                "name": "Welcome",
                "branches": [
                    [
                        {
                            "type": "batch_audience",
                            "name": "Contactable",
                            "resolution_level": "customer",
                            "rules": [{"column": "email", "operator": "not_null"}],
                            "columns": ["email", "first_name"],
                        },
                        WELCOME_EMAIL,
                        {"type": "export", "name": "Welcome file", "columns": ["email", "first_name"]},
                    ]
                ],
            }
        ],
    },
    {
        "name": "New sign-ups",
        "description": "Demo: an interactive audience; every 15 minutes, customers not offered yet get "
        "the welcome email.",
        "workflows": [
            {
                "key": "main",
                "name": "Sign-ups",
                "branches": [
                    [
                        {
                            "type": "interactive_audience",
                            "name": "Not offered yet",
                            "resolution_level": "customer",
                            "rules": [{"column": "email", "operator": "not_null"}],
                            "frequency_minutes": 15,
                            "max_cycles": 96,
                        },
                        WELCOME_EMAIL,
                    ]
                ],
            }
        ],
    },
]


def seed_interactions(deps: Deps) -> None:
    service = InteractionService(deps)
    admin = Principal(user="admin", role="administrator")
    for design in DEMO_INTERACTIONS:
        service.create(admin, design)


def seed(deps: Deps, *, runs: bool = True, wait_seconds: float = 60.0) -> dict[str, str]:
    """Load the demo tenant; with ``runs``, start a run that succeeds and one that waits for a fix,
    then add the demo schedules (after the runs, so that the demo starts with those two runs) and,
    once the succeeded run has written the customers table, the demo interaction designs."""
    seed_config(deps)
    seed_files(deps, datetime.now(UTC).date())
    if not runs:
        return {}
    seed_alerts(deps)
    service = WorkflowService(deps)
    system = Principal(user="automated", role="administrator")
    ok, _ = service.start(system, "courier_group", "crm_web", None, Mode.PRODUCTION, started_by="automated")
    failed, _ = service.start(system, "courier_group", "daily", None, Mode.PRODUCTION, started_by="automated")
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        a = deps.workflows.get(ok.id, with_tasks=False)
        b = deps.workflows.get(failed.id, with_tasks=False)
        if a.status == WorkflowStatus.SUCCEEDED and b.status == WorkflowStatus.FAILED:
            break
        time.sleep(0.1)
    seed_schedules(deps)
    if deps.workflows.get(ok.id, with_tasks=False).status == WorkflowStatus.SUCCEEDED:
        seed_interactions(deps)  # designed against the customers table that run wrote
    return {"succeeded": ok.id, "failed": failed.id}
