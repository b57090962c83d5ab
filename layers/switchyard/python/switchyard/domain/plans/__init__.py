"""How each workflow type lays its stages and tasks out from the configuration (named in
workflow_types.py)."""
