"""Credentials in Secrets Manager: destinations' passwords and tokens never sit in configuration,
task inputs, history or logs; configuration names the secret."""

from __future__ import annotations

import json
from typing import Any, Protocol

from botocore.exceptions import ClientError

from switchyard.adapters.aws import client


class SecretStore(Protocol):
    def get(self, name: str) -> dict[str, Any] | None: ...
    def exists(self, name: str) -> bool: ...
    def put(self, name: str, value: dict[str, Any]) -> None: ...
    def delete(self, name: str) -> bool: ...


class SecretsManagerStore:
    def __init__(self, region: str) -> None:
        self.region = region

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            raw = client("secretsmanager", self.region).get_secret_value(SecretId=name)["SecretString"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:  # a plain-text secret (an ASCII-armoured key, a token)
            return {"value": raw}
        return value if isinstance(value, dict) else {"value": value}

    def exists(self, name: str) -> bool:
        """Whether the secret exists, without reading its value (DescribeSecret)."""
        try:
            client("secretsmanager", self.region).describe_secret(SecretId=name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return False
            raise
        return True

    def put(self, name: str, value: dict[str, Any]) -> None:
        sm = client("secretsmanager", self.region)
        body = json.dumps(value)
        try:
            sm.put_secret_value(SecretId=name, SecretString=body)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            sm.create_secret(Name=name, SecretString=body)

    def delete(self, name: str) -> bool:
        """Delete the secret at once (no recovery window, so the same name can be created again
        right away); False when there was none."""
        try:
            client("secretsmanager", self.region).delete_secret(
                SecretId=name, ForceDeleteWithoutRecovery=True
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return False
            raise
        return True
