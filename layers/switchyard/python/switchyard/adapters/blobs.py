"""Files in S3: source drops, domain tables (Parquet), stitch output."""

from __future__ import annotations

from typing import Protocol

from botocore.exceptions import ClientError

from switchyard.adapters.aws import client


class BlobStore(Protocol):
    def list(self, bucket: str, prefix: str) -> list[str]: ...
    def get(self, bucket: str, key: str) -> bytes | None: ...
    def put(self, bucket: str, key: str, body: bytes) -> None: ...
    def delete(self, bucket: str, key: str) -> None: ...


class S3BlobStore:
    def __init__(self, region: str) -> None:
        self.region = region

    def list(self, bucket: str, prefix: str) -> list[str]:
        paginator = client("s3", self.region).get_paginator("list_objects_v2")
        keys: list[str] = []
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return keys

    def get(self, bucket: str, key: str) -> bytes | None:
        try:
            return client("s3", self.region).get_object(Bucket=bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise

    def put(self, bucket: str, key: str, body: bytes) -> None:
        client("s3", self.region).put_object(Bucket=bucket, Key=key, Body=body)

    def delete(self, bucket: str, key: str) -> None:
        client("s3", self.region).delete_object(Bucket=bucket, Key=key)
