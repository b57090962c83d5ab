"""The web console: static files (``static/``) served by the API at ``/console/``."""
