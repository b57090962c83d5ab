"""Route modules, each a Powertools ``Router`` included by :func:`switchyard.api.app.build_app`."""
