"""Data: one DynamoDB table per PynamoDB model, and the data bucket.

Table keys and indexes come from :func:`switchyard.data.models.key_schema`, the same function the
local runtime uses, so a key is never typed twice.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Tags
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct
from pynamodb.models import Model
from switchyard.data.models import TABLE_MODELS, TTL_ATTRIBUTES, key_schema

from infra import constants as c

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
_PROJECTIONS = {
    "ALL": dynamodb.ProjectionType.ALL,
    "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY,
}


def _keys(
    schema: list[dict[str, str]], types: dict[str, str]
) -> tuple[dynamodb.Attribute, dynamodb.Attribute | None]:
    """(partition key, sort key or None) from a CloudFormation KeySchema list."""
    keys = {
        key["KeyType"]: dynamodb.Attribute(
            name=key["AttributeName"], type=_ATTRIBUTE_TYPES[types[key["AttributeName"]]]
        )
        for key in schema
    }
    return keys["HASH"], keys.get("RANGE")


def _projection(model: type[Model], index_name: str) -> dynamodb.ProjectionType:
    """The index's projection as the model declares it (key_schema() leaves projections out)."""
    for index in model._indexes.values():
        if index.Meta.index_name == index_name:
            projection_type = index.Meta.projection.projection_type
            if projection_type not in _PROJECTIONS:
                raise ValueError(f"{model.__name__}.{index_name}: unsupported projection {projection_type}")
            return _PROJECTIONS[projection_type]
    raise KeyError(f"{model.__name__} has no index {index_name}")


class Data(Construct):
    """The tables (``tables[logical name]``) and the data bucket."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.tables: dict[str, dynamodb.Table] = {
            logical: self._table(logical, model) for logical, model in TABLE_MODELS.items()
        }
        self.bucket = self._bucket()

    def _table(self, logical: str, model: type[Model]) -> dynamodb.Table:
        schema = key_schema(model)
        types: dict[str, str] = schema["AttributeTypes"]  # type: ignore[assignment]
        partition_key, sort_key = _keys(schema["KeySchema"], types)  # type: ignore[arg-type]
        table = dynamodb.Table(
            self,
            f"{logical.title()}Table",
            partition_key=partition_key,
            sort_key=sort_key,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=TTL_ATTRIBUTES.get(logical),
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in schema["GlobalSecondaryIndexes"]:  # type: ignore[attr-defined]
            partition_key, sort_key = _keys(index["KeySchema"], types)
            table.add_global_secondary_index(
                index_name=index["IndexName"],
                partition_key=partition_key,
                sort_key=sort_key,
                projection_type=_projection(model, index["IndexName"]),
            )
        Tags.of(table.node.default_child).add(c.TAG_TABLE, logical)  # type: ignore[arg-type]
        return table

    def _bucket(self) -> s3.Bucket:
        # Receives the data bucket's server access logs (cdk-nag accepts a log target without logs).
        access_logs = s3.Bucket(
            self,
            "AccessLogsBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(c.ACCESS_LOGS_EXPIRATION_DAYS))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        return s3.Bucket(
            self,
            "DataBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="data-bucket/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    noncurrent_version_expiration=Duration.days(c.NONCURRENT_VERSION_EXPIRATION_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
