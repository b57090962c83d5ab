"""Domain services: what handlers call. Dependencies come in through :class:`Deps`.

Importing the package registers the run hooks of the workflow types that have them
(services/run_hooks.py), so the engine, which only reads that registry, sees them wherever a
service is used.
"""

# registers the "interaction" type's run hooks
from switchyard.services.interactions import hooks as _interaction_hooks  # noqa: F401
