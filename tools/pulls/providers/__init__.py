"""Where pull requests live: GitHub (`github`) or our own database plus a git remote (`local`)."""
