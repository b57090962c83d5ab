"""The one place where Logger, Tracer and Metrics are built; import them from here."""

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "switchyard"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="Switchyard", service=SERVICE)
