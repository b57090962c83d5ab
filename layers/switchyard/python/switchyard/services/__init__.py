"""Domain services: what handlers call. Dependencies come in through :class:`Deps`.

Importing the package has no side effects: the entry points register the workflow types' run
hooks themselves (services/wiring.py) where they wire their dependencies.
"""
