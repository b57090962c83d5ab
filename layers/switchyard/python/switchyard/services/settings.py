"""The tenant's settings administrators change: the email domains alert recipients may be in
(``/api/settings/allowed-domains``; docs/alerts.md, "Allowed domains").

The domains live in the tenant's alert profile (configuration kind ``tenant``), which every
email-recipient check reads (``AlertService.profile``): automated recipients, subscriptions, and
delivery itself (a message to a domain no longer allowed is not sent)."""

from __future__ import annotations

import re
from typing import Any

from switchyard.data.alerts import AlertRepository
from switchyard.domain.errors import AllowedDomainInUse, ValidationFailed
from switchyard.domain.models import Principal, WorkflowStatus
from switchyard.observability import logger
from switchyard.services.alerts import TENANT_KIND, AlertService
from switchyard.services.deps import Deps

DOMAIN = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$")
MAX_DOMAINS = 50
# Runs whose subscriptions may still be alerted: a failed run waiting for a resolution can
# still succeed (and alert its subscribers).
OPEN_STATUSES = (WorkflowStatus.RUNNING, WorkflowStatus.STOPPING, WorkflowStatus.FAILED)
OPEN_RUNS = 200  # per status


class AllowedDomainsService:
    def __init__(self, deps: Deps, alerts: AlertRepository | None = None) -> None:
        self.deps = deps
        self.alerts = alerts or deps.alerts

    def get(self, who: Principal) -> dict[str, Any]:
        return {"domains": AlertService(self.deps, self.alerts).profile(who.tenant)["allowed_domains"]}

    def replace(self, who: Principal, body: dict[str, Any]) -> dict[str, Any]:
        domains = self._check(body)
        current = self.get(who)["domains"]
        removed = sorted(set(current) - set(domains))
        in_use = [r for r in self._recipients(who) if r["domain"] in removed]
        if in_use:
            still = sorted({r["domain"] for r in in_use})
            raise AllowedDomainInUse(
                f"Alert recipients still use {', '.join(still)}: remove or change them first "
                "(details.recipients lists each and where it is set), then remove the domain.",
                {"domains": still, "recipients": in_use},
            )
        config = dict(self.deps.config.get(TENANT_KIND, who.tenant) or {})
        config["alerts"] = {**(config.get("alerts") or {}), "allowed_domains": domains}
        self.deps.config.put(TENANT_KIND, who.tenant, config)
        logger.info(
            "allowed domains changed",
            extra={"by": who.user, "added": sorted(set(domains) - set(current)), "removed": removed},
        )
        return {"domains": domains}

    @staticmethod
    def _check(body: dict[str, Any]) -> list[str]:
        unknown = sorted(set(body) - {"domains"})
        if unknown:
            raise ValidationFailed(
                f"Unknown field(s): {', '.join(unknown)}; send {{'domains': [...]}}.", {"fields": unknown}
            )
        domains = body.get("domains")
        if not isinstance(domains, list) or not all(isinstance(x, str) for x in domains):
            raise ValidationFailed(
                "'domains' must be a list of domain names, e.g. [\"example.com\"].", {"field": "domains"}
            )
        if len(domains) > MAX_DOMAINS:
            raise ValidationFailed(f"At most {MAX_DOMAINS} domains.", {"field": "domains"})
        cleaned: list[str] = []
        for i, raw in enumerate(domains):
            value = raw.strip().lower()
            if not DOMAIN.match(value):
                raise ValidationFailed(
                    f"{raw!r} is not a domain name: give the part after @, e.g. 'example.com'.",
                    {"field": f"domains[{i}]"},
                )
            if value not in cleaned:
                cleaned.append(value)
        return sorted(cleaned)

    def _recipients(self, who: Principal) -> list[dict[str, str]]:
        """Every email recipient set in the tenant: automated groups and open runs' subscriptions."""
        found: list[dict[str, str]] = []
        for group, value in (self.alerts.settings(who.tenant) or {}).items():
            for email in (value or {}).get("emails", []):
                found.append(
                    {"domain": _domain(email), "email": email, "where": f"automated alerts: {group}"}
                )
        for status in OPEN_STATUSES:
            runs, _ = self.deps.workflows.query(who.tenant, status=status, limit=OPEN_RUNS)
            for run in runs:
                for sub in self.alerts.subscriptions(run.id):
                    for email in sub.get("emails", []):
                        found.append(
                            {
                                "domain": _domain(email),
                                "email": email,
                                "where": f"subscription to run {run.name} ({run.id})",
                            }
                        )
        return found


def _domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()
