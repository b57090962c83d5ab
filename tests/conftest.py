"""Shared test configuration: each tier lives in its own folder (unit, integration, infra, e2e)."""
