"""The tenant's settings administrators change: the email domains alert recipients may be in
(``/api/settings/allowed-domains``; docs/alerts.md, "Allowed domains").

The domains live in the tenant's alert profile (configuration kind ``tenant``), which every
email-recipient check reads (``AlertService.profile``): automated recipients, subscriptions, and
delivery itself (a message to a domain no longer allowed is not sent)."""

from __future__ import annotations

from typing import Any

from switchyard.domain.errors import AllowedDomainInUse
from switchyard.domain.models import Principal, WorkflowStatus
from switchyard.observability import logger
from switchyard.services.alerts import TENANT_KIND, AlertService
from switchyard.services.deps import Deps

# one or more dot-separated labels of 1 to 63 letters, digits or hyphens, not starting or ending
# with a hyphen (at most 253 characters: the request model's max_length); any case, kept lower
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DOMAIN_PATTERN = rf"^{_LABEL}(?:\.{_LABEL})+$"
MAX_DOMAINS = 50
# Runs whose subscriptions may still be alerted: a failed run waiting for a resolution can
# still succeed (and alert its subscribers).
OPEN_STATUSES = (WorkflowStatus.RUNNING, WorkflowStatus.STOPPING, WorkflowStatus.FAILED)
OPEN_RUNS = 200  # per status


class AllowedDomainsService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.alerts = deps.alerts

    def get(self, who: Principal) -> dict[str, Any]:
        return {"domains": AlertService(self.deps).profile(who.tenant)["allowed_domains"]}

    def replace(self, who: Principal, domains: list[str]) -> dict[str, Any]:
        domains = self._clean(domains)
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
    def _clean(domains: list[str]) -> list[str]:
        """The domains in lower case, each once, sorted (the request model checked their form)."""
        return sorted({d.lower() for d in domains})

    def _recipients(self, who: Principal) -> list[dict[str, str]]:
        """Every email recipient set in the tenant: automated groups and open runs' subscriptions."""
        found: list[dict[str, str]] = []
        for group, value in (self.alerts.settings(who.tenant) or {}).items():
            for email in (value or {}).get("emails", []):
                found.append(
                    {"domain": _domain(email), "email": email, "where": f"automated alerts: {group}"}
                )
        for status in OPEN_STATUSES:
            runs, _ = self.deps.workflows.query(who.tenant, status=status, limit=OPEN_RUNS, summary=True)
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
