"""API Gateway: the proxy routes to the API function, stage settings, outputs."""

from __future__ import annotations

from typing import Any

from infra_helpers import functions, render, resources, tables
from switchyard import declarations as d

from infra import constants as c

ROUTES = {
    ("/", "GET"),
    ("/openapi.json", "GET"),
    ("/api/{proxy+}", "ANY"),
    ("/console", "GET"),
    ("/console/{proxy+}", "GET"),
}


def _paths(template: dict[str, Any]) -> dict[str, str]:
    """API Gateway resource logical id -> full path (the root is the RestApi's RootResourceId)."""
    api_resources = resources(template, "AWS::ApiGateway::Resource")

    def path(logical_id: str) -> str:
        properties = api_resources[logical_id]["Properties"]
        parent = properties["ParentId"]
        prefix = "" if "Fn::GetAtt" in parent else path(parent["Ref"])
        return f"{prefix}/{properties['PathPart']}"

    return {logical_id: path(logical_id) for logical_id in api_resources}


def test_the_api_routes_are_proxied_to_the_api_function(template: dict[str, Any]) -> None:
    paths = _paths(template)
    api_function = f"<{functions(template)['api'][0]}.Arn>"
    routes = set()
    for method in resources(template, "AWS::ApiGateway::Method").values():
        properties = method["Properties"]
        resource_id = properties["ResourceId"]
        path = "/" if "Fn::GetAtt" in resource_id else paths[resource_id["Ref"]]
        routes.add((path, properties["HttpMethod"]))
        # auth is the API Lambda's (bearer tokens), so the gateway lets requests through
        assert properties["AuthorizationType"] == "NONE"
        integration = properties["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        assert api_function in render(integration["Uri"])
    assert routes == ROUTES


def test_the_stage_is_prod_with_access_logs_tracing_and_throttling(template: dict[str, Any]) -> None:
    (stage,) = resources(template, "AWS::ApiGateway::Stage").values()
    properties = stage["Properties"]
    assert properties["StageName"] == c.API_STAGE
    assert properties["TracingEnabled"] is True
    (access_logs,) = [
        logical_id
        for logical_id in resources(template, "AWS::Logs::LogGroup")
        if render(properties["AccessLogSetting"]["DestinationArn"]).endswith(f":log-group:<{logical_id}>")
    ]
    assert template["Resources"][access_logs]["Properties"]["RetentionInDays"] > 0
    assert "$context.requestId" in properties["AccessLogSetting"]["Format"]
    (settings,) = properties["MethodSettings"]
    assert settings["LoggingLevel"] == "ERROR"
    assert settings["DataTraceEnabled"] is False
    assert settings["ThrottlingRateLimit"] == c.API_THROTTLING_RATE_LIMIT
    assert settings["ThrottlingBurstLimit"] == c.API_THROTTLING_BURST_LIMIT


def test_outputs_give_the_urls_tables_and_bucket(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert render(outputs["ApiUrl"]["Value"]).endswith(f"/{c.API_STAGE}/{c.API_PREFIX}")
    assert render(outputs["ConsoleUrl"]["Value"]).endswith(f"/{c.API_STAGE}/{c.CONSOLE_PREFIX}")
    for logical, (logical_id, _) in tables(template).items():
        # CloudFormation logical ids keep letters and digits only (offer_history -> OfferHistory)
        assert outputs[f"{logical.title()}TableName".replace("_", "")]["Value"] == {"Ref": logical_id}
    bucket = outputs["DataBucketName"]["Value"]["Ref"]
    assert "VersioningConfiguration" in template["Resources"][bucket]["Properties"]


def test_the_shared_layer_ships_the_console_files(synth: Any) -> None:
    """The API Lambda serves /console/ from the package: the layer's asset must carry the files."""
    from pathlib import Path

    app = synth[0]
    outdir = Path(app.outdir)
    layer_assets = [
        p
        for p in outdir.glob("asset.*")
        if (p / "python" / "switchyard" / "declarations" / "__init__.py").exists()
    ]
    assert layer_assets, sorted(p.name for p in outdir.iterdir())
    static = layer_assets[0] / "python" / "switchyard" / "console" / "static"
    for name in ("index.html", "assets/app.css", "assets/js/main.js", "assets/js/graph.js"):
        assert (static / name).is_file(), name


def test_alert_links_open_the_run_under_the_console_url(template: dict[str, Any]) -> None:
    # Given the console's URL as the stack outputs it, and what each function is told
    console = render(template["Outputs"]["ConsoleUrl"]["Value"])
    told = {
        logical: render(variables[d.ENV_CONSOLE_URL])
        for logical, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
        and d.ENV_CONSOLE_URL
        in (variables := resource["Properties"].get("Environment", {}).get("Variables", {}))
    }
    assert told, "no function is told the console's URL"
    # Then a run's link (what services/alerts.py and the status events build) is under the console,
    # not /console/console/...
    for logical, site in told.items():
        assert f"{site}/console/workflows/w1" == f"{console}/workflows/w1", logical
