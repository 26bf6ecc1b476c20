"""Deploys: when each release went live, and which releases contain a merged fix."""
