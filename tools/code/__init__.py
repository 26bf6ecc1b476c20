"""Repositories the server may change: configuration, safe paths, fix worktrees, patches and checks."""
