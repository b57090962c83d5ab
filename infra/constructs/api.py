"""API: API Gateway REST API in front of the one API Lambda (REST API, OpenAPI document, console).

Authentication is the API Lambda's job (bearer tokens, roles): the gateway passes requests
through with authorization type NONE and adds access logs, X-Ray tracing and stage throttling.
"""

from __future__ import annotations

from aws_cdk import Aws, Fn
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import constants as c
from infra import nag


class Api(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, handler: lambda_.IFunction) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(self, "AccessLogs", retention=logs.RetentionDays[c.LOG_RETENTION])
        self.rest_api = apigw.LambdaRestApi(
            self,
            "RestApi",
            rest_api_name="switchyard",
            description="Switchyard REST API and console",
            handler=handler,
            proxy=False,  # the routes below, nothing else
            integration_options=apigw.LambdaIntegrationOptions(allow_test_invoke=False),
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,  # execution logging needs the account's CloudWatch role
            default_method_options=apigw.MethodOptions(authorization_type=apigw.AuthorizationType.NONE),
            deploy_options=apigw.StageOptions(
                stage_name=c.API_STAGE,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # request bodies and bearer tokens stay out of the logs
                metrics_enabled=True,
                tracing_enabled=True,
                throttling_rate_limit=c.API_THROTTLING_RATE_LIMIT,
                throttling_burst_limit=c.API_THROTTLING_BURST_LIMIT,
            ),
        )
        root = self.rest_api.root
        root.add_method("GET")  # redirects to the console
        root.add_resource(c.OPENAPI_PATH).add_method("GET")
        root.add_resource(c.API_PREFIX).add_resource("{proxy+}").add_method("ANY")
        console = root.add_resource(c.CONSOLE_PREFIX)
        console.add_method("GET")
        console.add_resource("{proxy+}").add_method("GET")

        # Built from the API's id and the stage name (not from the stage resource), so that a
        # function's environment can hold it without depending on the deployment.
        base = Fn.join(
            "", ["https://", self.rest_api.rest_api_id, ".execute-api.", Aws.REGION, ".", Aws.URL_SUFFIX]
        )
        # the root the console and the API live under (alert links add /console/workflows/<id>)
        self.site_url = Fn.join("", [base, f"/{c.API_STAGE}"])
        self.console_url = Fn.join("", [base, f"/{c.API_STAGE}/{c.CONSOLE_PREFIX}"])
        self.api_url = Fn.join("", [base, f"/{c.API_STAGE}/{c.API_PREFIX}"])
        self._acknowledge()

    def _acknowledge(self) -> None:
        api = self.rest_api
        nag.acknowledge(
            api,
            "AwsSolutions-APIG4",
            "Authorization is done by the API Lambda: every /api route checks the bearer token and the "
            "caller's role (DESIGN.md section 5); the console's static pages call the API with that token.",
        )
        nag.acknowledge(
            api,
            "AwsSolutions-COG4",
            "No Cognito user pool: tenants' users authenticate with bearer tokens checked by the API Lambda.",
        )
        nag.acknowledge(
            api,
            "AwsSolutions-APIG2",
            "Requests are validated by the API Lambda (Powertools APIGatewayRestResolver with "
            "enable_validation and pydantic models), which publishes the schema at /openapi.json.",
        )
        nag.acknowledge(
            api,
            "AwsSolutions-APIG3",
            "No WAF web ACL: the API is token-authenticated and throttled per stage; attach a web ACL "
            "to the stage where a tenant's policy requires one.",
        )
        nag.acknowledge(
            api,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "The account-level role API Gateway needs to write execution logs; AWS manages its policy.",
        )
