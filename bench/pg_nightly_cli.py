"""`self-improver` with the bench's stand-in for the `_failed_page` fix (see telemetry_pg.memo_known), for
timing `nightly` on PostgreSQL: `python bench/pg_nightly_cli.py nightly --telemetry-db postgresql://...`."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

if __name__ == "__main__":
    import telemetry_pg

    telemetry_pg.memo_known()
    from self_improver.server.cli import main

    sys.argv[0] = "self-improver"
    main()
