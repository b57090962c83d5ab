"""S3 and SFTP: the audience as a CSV file."""

from __future__ import annotations

import asyncio
import posixpath
from typing import Any

from switchyard.destinations.base import Delivery, Services
from switchyard.domain.errors import (
    DestinationAuthorizationError,
    DestinationConnectionError,
    DestinationRejectedError,
    InvalidCredentialsError,
)


class S3Destination:
    kind = "s3"

    def send(self, config: dict[str, Any], delivery: Delivery, services: Services) -> dict[str, Any]:
        bucket = config.get("bucket") or services.default_bucket
        key = posixpath.join(config.get("prefix", "exports/"), delivery.campaign, delivery.file_name)
        services.blobs.put(bucket, key, delivery.csv_bytes())
        return {"sent": len(delivery.rows), "location": f"s3://{bucket}/{key}"}


class SftpDestination:
    """Uploads the file over SFTP. Credentials come from the secret named in ``secret``:
    ``{"username", "password"}``; ``host_key`` in the configuration pins the server's key."""

    kind = "sftp"

    def send(self, config: dict[str, Any], delivery: Delivery, services: Services) -> dict[str, Any]:
        secret = services.secrets.get(config.get("secret", "")) if config.get("secret") else None
        if not secret or not secret.get("username") or not secret.get("password"):
            raise InvalidCredentialsError(
                f"SFTP destination {config['name']!r} needs a secret with username and password "
                f"(secret {config.get('secret')!r})."
            )
        path = posixpath.join(config.get("path", "."), delivery.file_name)
        asyncio.run(self._upload(config, secret, path, delivery.csv_bytes()))
        return {
            "sent": len(delivery.rows),
            "location": f"sftp://{config['host']}:{config.get('port', 22)}/{path}",
        }

    @staticmethod
    async def _upload(config: dict[str, Any], secret: dict[str, Any], path: str, body: bytes) -> None:
        import asyncssh

        known_hosts: Any = None
        if config.get("host_key"):
            known_hosts = asyncssh.import_known_hosts(
                f"[{config['host']}]:{config.get('port', 22)} {config['host_key']}\n"
            )
        try:
            async with (
                asyncssh.connect(
                    config["host"],
                    port=int(config.get("port", 22)),
                    username=secret["username"],
                    password=secret["password"],
                    known_hosts=known_hosts,
                    client_keys=None,
                    connect_timeout=20,
                ) as conn,
                conn.start_sftp_client() as sftp,
                sftp.open(path, "wb") as fh,
            ):
                await fh.write(body)
        except asyncssh.PermissionDenied:
            raise DestinationAuthorizationError(
                f"SFTP server {config['host']} refused the credentials for user {secret['username']!r}."
            ) from None
        except asyncssh.SFTPError as exc:
            raise DestinationRejectedError(
                f"SFTP server {config['host']} refused the upload: {exc.reason}"
            ) from None
        except (OSError, asyncssh.Error) as exc:
            raise DestinationConnectionError(
                f"Could not connect to SFTP server {config['host']}:{config.get('port', 22)}: {exc}"
            ) from None
