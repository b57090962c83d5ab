#!/usr/bin/env python3
"""CDK entry point: ``.venv/bin/python app.py`` (CDK_OUTDIR=cdk.out) or ``cdk synth``."""

import os

# jsii warns about Node.js 20 on every start; the machine's Node is what we have.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from infra.application import build_app, default_environment

app, _stack = build_app(env=default_environment())
app.synth()
