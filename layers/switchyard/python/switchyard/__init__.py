"""Switchyard: serverless workflow operations for customer-data and marketing platforms.

This package is the Lambda layer shared by every handler, and the importable package used by
the local runtime and the tests.
"""

__version__ = "0.1.0"
