"""Marketing and ad platforms as rules: the credential fields and list names each accepts.

What can be checked without the platform (a secret's fields and formats, a list or audience
name) is the domain's; sending is a destination's (``destinations/platforms.py``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlatformRules:
    kind: str
    title: str
    # secret field -> regular expression its value must match
    credentials: dict[str, str]
    list_name: str  # regular expression for list / audience names
    list_rule: str  # the rule in words
    # accepts one send at a time (an ad platform may take up to 48 hours to process one)
    exclusive: bool = False


PLATFORM_RULES = {
    p.kind: p
    for p in (
        PlatformRules(
            "braze",
            "Braze",
            {
                "api_key": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                "rest_endpoint": r"https://rest\.[a-z0-9-]+\.braze\.(com|eu)",
            },
            r"[A-Za-z0-9 _\-]{1,100}",
            "1 to 100 letters, digits, spaces, _ or -",
        ),
        PlatformRules(
            "klaviyo", "Klaviyo", {"private_key": r"pk_[A-Za-z0-9]{20,}"}, r".{1,255}", "1 to 255 characters"
        ),
        PlatformRules(
            "google_ads",
            "Google Ads",
            {"developer_token": r"[A-Za-z0-9_\-]{20,}", "customer_id": r"\d{10}", "refresh_token": r".{10,}"},
            r"[^\x00-\x1f]{1,255}",
            "1 to 255 printable characters",
            exclusive=True,
        ),
        PlatformRules(
            "meta_ads",
            "Meta Ads",
            {"ad_account_id": r"act_\d+", "access_token": r"[A-Za-z0-9]{20,}"},
            r".{1,200}",
            "1 to 200 characters",
            exclusive=True,
        ),
        PlatformRules(
            "tiktok_ads",
            "TikTok Ads",
            {"advertiser_id": r"\d{6,}", "access_token": r"[A-Za-z0-9]{20,}"},
            r"[^\x00-\x1f]{1,128}",
            "1 to 128 printable characters",
            exclusive=True,
        ),
        PlatformRules(
            "sfmc",
            "Salesforce Marketing Cloud",
            {"client_id": r"[a-z0-9]{24}", "client_secret": r"[A-Za-z0-9]{24}", "subdomain": r"[a-z0-9]{28}"},
            r"[A-Za-z0-9 _\-]{1,128}",
            "1 to 128 letters, digits, spaces, _ or -",
        ),
    )
}
