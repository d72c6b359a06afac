"""The dashboard: a FastAPI server (``app``), its run queue (``jobs``), tunable knobs (``params``)
and one static page (``static/index.html``)."""
