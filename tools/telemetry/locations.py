"""Where the telemetry lives: a SQLite file path or a PostgreSQL URL, and how to show it without secrets."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

POSTGRES_SCHEMES = ("postgresql", "postgres")


def is_postgres(location: str) -> bool:
    return location.split("://", 1)[0].lower() in POSTGRES_SCHEMES and "://" in location


def masked_url(location: str) -> str:
    """The location with any password replaced by ****, for messages, logs and reports."""
    if "://" not in location:
        return location
    parts = urlsplit(location)
    if parts.password is None:
        return location
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":****"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))
