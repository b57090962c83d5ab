"""S3 and SFTP: the audience as a CSV file; or given files, as they are (interaction exports).

``names``/``put_files`` are what a *file destination* offers besides ``send``: the file names
already in its folder (so a delivery never overwrites one) and the upload of ready-made files,
each appended to ``delivered`` as soon as it is there (a failure part-way says what arrived).
"""

from __future__ import annotations

import asyncio
import posixpath
from typing import Any

from botocore.exceptions import ClientError

from switchyard.destinations.base import Delivery, Services
from switchyard.domain.task_errors import (
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

    @staticmethod
    def _where(config: dict[str, Any], services: Services) -> tuple[str, str]:
        bucket = str(config.get("bucket") or services.default_bucket)
        prefix = str(config.get("prefix", "exports/"))
        return bucket, (prefix.rstrip("/") + "/" if prefix else "")

    def names(self, config: dict[str, Any], services: Services) -> set[str]:
        bucket, prefix = self._where(config, services)
        try:
            keys = services.blobs.list(bucket, prefix)
        except ClientError as exc:
            raise _s3_error(config, bucket, exc) from None
        return {k[len(prefix) :] for k in keys if "/" not in k[len(prefix) :]}

    def put_files(
        self, config: dict[str, Any], files: list[tuple[str, bytes]], services: Services, delivered: list[str]
    ) -> None:
        bucket, prefix = self._where(config, services)
        for name, body in files:
            try:
                services.blobs.put(bucket, prefix + name, body)
            except ClientError as exc:
                raise _s3_error(config, bucket, exc) from None
            delivered.append(f"s3://{bucket}/{prefix}{name}")


def _s3_error(config: dict[str, Any], bucket: str, exc: ClientError) -> Exception:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return DestinationAuthorizationError(f"S3 refused access to bucket {bucket!r} ({code}).")
    if code in ("NoSuchBucket", "404"):
        return DestinationRejectedError(
            f"S3 destination {config.get('name')!r}: bucket {bucket!r} does not exist."
        )
    return DestinationConnectionError(f"S3 destination {config.get('name')!r} failed: {code or exc}.")


class SftpDestination:
    """Uploads the file over SFTP. Credentials come from the secret named in ``secret``:
    ``{"username", "password"}``; ``host_key`` in the configuration pins the server's key."""

    kind = "sftp"

    @staticmethod
    def _secret(config: dict[str, Any], services: Services) -> dict[str, Any]:
        secret = services.secrets.get(config.get("secret", "")) if config.get("secret") else None
        if not secret or not secret.get("username") or not secret.get("password"):
            raise InvalidCredentialsError(
                f"SFTP destination {config['name']!r} needs a secret with username and password "
                f"(secret {config.get('secret')!r})."
            )
        return secret

    def names(self, config: dict[str, Any], services: Services) -> set[str]:
        secret = self._secret(config, services)
        found: set[str] = set()

        async def listing(sftp: Any) -> None:
            found.update(str(n) for n in await sftp.listdir(config.get("path", ".")))

        asyncio.run(self._session(config, secret, listing))
        return found - {".", ".."}

    def put_files(
        self, config: dict[str, Any], files: list[tuple[str, bytes]], services: Services, delivered: list[str]
    ) -> None:
        secret = self._secret(config, services)

        async def upload(sftp: Any) -> None:
            for name, body in files:
                path = posixpath.join(config.get("path", "."), name)
                # "x": never overwrite a file that appeared since the names were read
                async with sftp.open(path, "xb") as fh:
                    await fh.write(body)
                delivered.append(f"sftp://{config['host']}:{config.get('port', 22)}/{path}")

        asyncio.run(self._session(config, secret, upload))

    def send(self, config: dict[str, Any], delivery: Delivery, services: Services) -> dict[str, Any]:
        secret = self._secret(config, services)
        path = posixpath.join(config.get("path", "."), delivery.file_name)
        asyncio.run(self._upload(config, secret, path, delivery.csv_bytes()))
        return {
            "sent": len(delivery.rows),
            "location": f"sftp://{config['host']}:{config.get('port', 22)}/{path}",
        }

    @classmethod
    async def _upload(cls, config: dict[str, Any], secret: dict[str, Any], path: str, body: bytes) -> None:
        async def write(sftp: Any) -> None:
            async with sftp.open(path, "wb") as fh:
                await fh.write(body)

        await cls._session(config, secret, write)

    @staticmethod
    async def _session(config: dict[str, Any], secret: dict[str, Any], work: Any) -> None:
        """Connect, open an SFTP session, ``await work(sftp)``; errors as destination errors."""
        import asyncssh  # lazy: only SFTP destinations need it (cold start of the other tasks)

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
            ):
                await work(sftp)
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
