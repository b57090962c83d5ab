"""Interaction designs the tests share: what a user would write in the console's JSON editor."""

from __future__ import annotations

from typing import Any


def welcome_design(name: str, *, delay_seconds: int, offer_code: str) -> dict[str, Any]:
    """One workflow, one branch: customers with an email, a delay, then an email offer."""
    return {
        "name": name,
        "workflows": [
            {
                "key": "main",
                "name": "Main",
                "branches": [
                    [
                        {
                            "type": "batch_audience",
                            "name": "With email",
                            "resolution_level": "customer",
                            "rules": [{"column": "email", "operator": "not_null"}],
                            "columns": ["email"],
                        },
                        {"type": "delay", "name": "Cool off", "seconds": delay_seconds},
                        {
                            "type": "offer",
                            "name": "Welcome offer",
                            "offer_code": offer_code,
                            "channel": "email",
                        },
                    ]
                ],
            }
        ],
    }
