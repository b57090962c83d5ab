"""Interactions in the domain: designs and their rules, prioritization, triggers (docs/interactions.md)."""
