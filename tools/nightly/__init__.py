"""The nightly run: `run.run_nightly(settings, now=None) -> NightlyResult` and the pieces it is made of.

lock (one run at a time), runs (run records), steps (the deterministic work), report + charts (markdown
and SVG), host_config + agent (starting a host agent with our server). Import `run` explicitly: it is
the one module that reaches into the server package.
"""
