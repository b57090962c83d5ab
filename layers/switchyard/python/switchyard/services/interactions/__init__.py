"""Interaction use cases: designs, firing, controls, rollback, and the interaction type's run hooks."""
