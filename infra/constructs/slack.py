"""Slack through OAuth v2 (docs/alerts.md, "Slack"): the Slack app the API connects workspaces with.

* The app's **client id** is the CDK context ``switchyard:slack-client-id`` (not a secret; it is
  in every authorize URL). Without it, ``/api/slack/install`` answers 409 ``slack_not_configured``.
* The app's **client secret** is the Secrets Manager secret ``switchyard/slack-oauth/client``
  (``{"client_secret": ...}``), created by the operator, never in the template. The API function
  reads it; every other function that reads ``switchyard/`` secrets is denied it
  (``secrets_denied_under`` in :mod:`switchyard.declarations`).
* ``switchyard:slack-redirect-uri``, optional: the callback URL registered with the app when the
  API is reached through a custom domain (by default it is built from the request's host).
* Each connected channel's webhook is a secret under ``switchyard/slack/<tenant>/``, written by the
  API function (its ``switchyard/`` grant) and deleted by it on disconnection (DeleteSecret on that
  prefix only); the alerts function reads it to post.
"""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from constructs import Construct
from switchyard import declarations as d

CLIENT_ID_CONTEXT = "switchyard:slack-client-id"
REDIRECT_URI_CONTEXT = "switchyard:slack-redirect-uri"


class Slack(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, api_function: lambda_.Function) -> None:
        super().__init__(scope, construct_id)
        client_id = str(self.node.try_get_context(CLIENT_ID_CONTEXT) or "")
        redirect_uri = str(self.node.try_get_context(REDIRECT_URI_CONTEXT) or "")
        if redirect_uri and not redirect_uri.startswith("https://"):
            raise ValueError(
                f"CDK context {REDIRECT_URI_CONTEXT!r} must be an https:// URL, not {redirect_uri!r}."
            )
        api_function.add_environment(d.ENV_SLACK_CLIENT_ID, client_id)
        if redirect_uri:
            api_function.add_environment(d.ENV_SLACK_REDIRECT_URI, redirect_uri)
