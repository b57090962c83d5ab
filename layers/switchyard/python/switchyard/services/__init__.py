"""Domain services: what handlers call. Dependencies come in through :class:`Deps`."""
