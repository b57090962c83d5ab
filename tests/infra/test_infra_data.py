"""Tables and the data bucket in the synthesized template."""

from __future__ import annotations

from typing import Any

from infra_helpers import render, resources, tables
from switchyard.data.models import TABLE_MODELS, TTL_ATTRIBUTES, key_schema


def test_every_model_has_one_table_with_the_models_keys_and_indexes(template: dict[str, Any]) -> None:
    # Given the PynamoDB models, When the stack is synthesized
    found = tables(template)
    # Then there is one table per model, and no other
    assert set(found) == set(TABLE_MODELS)
    assert len(resources(template, "AWS::DynamoDB::Table")) == len(TABLE_MODELS)
    for logical, model in TABLE_MODELS.items():
        expected = key_schema(model)
        properties = found[logical][1]["Properties"]
        # And its key schema, attribute definitions and indexes are the model's
        assert properties["KeySchema"] == expected["KeySchema"], logical
        assert {a["AttributeName"]: a["AttributeType"] for a in properties["AttributeDefinitions"]} == (
            expected["AttributeTypes"]
        ), logical
        assert len(properties["AttributeDefinitions"]) == len(expected["AttributeTypes"])  # type: ignore[arg-type]
        indexes = sorted(properties.get("GlobalSecondaryIndexes", []), key=lambda i: i["IndexName"])
        assert [{"IndexName": i["IndexName"], "KeySchema": i["KeySchema"]} for i in indexes] == (
            expected["GlobalSecondaryIndexes"]
        ), logical
        # And each index projects what the model's index projects
        projections = {i.Meta.index_name: i.Meta.projection.projection_type for i in model._indexes.values()}
        assert {i["IndexName"]: i["Projection"]["ProjectionType"] for i in indexes} == projections


def test_tables_are_on_demand_encrypted_recoverable_and_retained(template: dict[str, Any]) -> None:
    for logical, (_, table) in tables(template).items():
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST", logical
        assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, logical
        assert properties["SSESpecification"]["SSEEnabled"] is True, logical
        assert table["DeletionPolicy"] == "Retain", logical


def test_time_to_live_is_set_where_the_models_declare_it(template: dict[str, Any]) -> None:
    for logical, (_, table) in tables(template).items():
        ttl = table["Properties"].get("TimeToLiveSpecification")
        if logical in TTL_ATTRIBUTES:
            assert ttl == {"AttributeName": TTL_ATTRIBUTES[logical], "Enabled": True}
        else:
            assert ttl is None, logical


def _data_bucket(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    buckets = {
        k: v
        for k, v in resources(template, "AWS::S3::Bucket").items()
        if "VersioningConfiguration" in v["Properties"]
    }
    assert len(buckets) == 1
    return next(iter(buckets.items()))


def test_data_bucket_is_private_encrypted_versioned_and_logged(template: dict[str, Any]) -> None:
    _, bucket = _data_bucket(template)
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    encryption = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert "DestinationBucketName" in properties["LoggingConfiguration"]
    assert bucket["DeletionPolicy"] == "Retain"


def test_data_bucket_refuses_requests_without_tls(template: dict[str, Any]) -> None:
    logical_id, _ = _data_bucket(template)
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": logical_id}
    ]
    assert len(policies) == 1
    deny_insecure = [
        s
        for s in policies[0]
        if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert deny_insecure, "no statement denies aws:SecureTransport=false"
    assert {render(r) for r in deny_insecure[0]["Resource"]} == {
        f"<{logical_id}.Arn>",
        f"<{logical_id}.Arn>/*",
    }
