"""Where pull requests live: `base.py` is the contract, `registry.py` the list of providers (start there
to add one), and one module per provider: `local` (our own database plus a git remote), `github`, `gitlab`.
"""
