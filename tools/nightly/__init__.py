"""The nightly run's domain pieces; the run itself (`run_nightly`) is `server/nightly.py`.

lock (one run at a time), runs (run records), steps (the deterministic work), report + charts (markdown
and SVG), host_config + agent (starting a host agent with our server). Nothing here imports the server:
the orchestration that needs settings, the server's resources and prompts lives in `server/nightly.py`.
"""
