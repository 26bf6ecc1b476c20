"""Secrets are masked, the rest of the text stays readable."""

from __future__ import annotations

import pytest
from self_improver.tools.errors.redact import redact_secrets


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("OpenAI key sk-proj-abcdefghijklmnop1234567890 rejected", "OpenAI key sk-proj-*** rejected"),
        ("anthropic sk-ant-api03-abcdefghijklmnopqrstu", "anthropic sk-ant-***"),
        ("stripe sk_live_abcdefghijklmn", "stripe sk_live_***"),
        ("push with ghp_abcdefghijklmnopqrstuvwxyz0123", "push with ghp_***"),
        ("aws AKIAIOSFODNN7EXAMPLE denied", "aws AKIA*** denied"),
        ("slack xoxb-1234-5678-abcdefghij", "slack xoxb-***"),
        ("GET /v1?api_key=abc123def&page=2", "GET /v1?api_key=***&page=2"),
        ("token=deadbeefcafe", "token=***"),
        ("login failed password: hunter2", "login failed password: ***"),
        ('{"password": "hunter2", "user": "bob"}', '{"password": "***", "user": "bob"}'),
        ("Authorization: Bearer abc.def.ghi123", "Authorization: Bearer ***"),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ***"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdEFGHijk", "jwt eyJ***"),
        ("connect https://bob:s3cret@db.example.com/x", "connect https://bob:***@db.example.com/x"),
        ("mail from alice@example.com bounced", "mail from <email> bounced"),
        ("max_tokens=100 is fine", "max_tokens=100 is fine"),
        ("KeyError: 'password'", "KeyError: 'password'"),
    ],
)
def test_redaction_cases(text: str, expected: str) -> None:
    assert redact_secrets(text) == expected


def test_private_key_block_is_removed_whole() -> None:
    text = "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----\nnext"
    assert (
        redact_secrets(text) == "key:\n-----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----\nnext"
    )
    assert "MIIE" not in redact_secrets("-----BEGIN PRIVATE KEY-----\nMIIEtruncated")


def test_emails_can_be_kept() -> None:
    assert redact_secrets("to alice@example.com", redact_emails=False) == "to alice@example.com"
    assert redact_secrets("") == ""
