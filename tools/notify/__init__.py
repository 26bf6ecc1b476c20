"""Notifications: a short summary of each nightly run POSTed to a webhook (Slack-compatible)."""
