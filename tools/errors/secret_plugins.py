"""detect-secrets' regex plugins as rules of the secret detector: one rule per pattern of every plugin.

It exists apart from `secret_rules` because these rules are not written here but read from the installed
detect-secrets (new plugins join by themselves); what this module adds per plugin is only what the
patterns do not say: a readable label, the needles that wake it, which group is the secret, which run per
line, and the gates proven for its exact patterns.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.jwt import JwtTokenDetector

from .secret_rules import Rule

_JWT_TAIL = re.compile(r"[A-Za-z0-9_\-.+/=]*")


def _jwt_ok(value: str, match: re.Match[str]) -> bool:
    return JwtTokenDetector.is_formally_valid(value)


# Plugins that are not secrets (public IPs), or that rules here cover more completely.
_SKIPPED_PLUGINS = {"IPPublicDetector", "PrivateKeyDetector", "KeywordDetector"}
# Plugins whose pattern groups only the kind prefix (`(ghp|gho|...)_...`): the secret is the whole match.
_WHOLE_MATCH_PLUGINS = {"GitHubTokenDetector", "GitLabTokenDetector"}
# Plugins whose patterns are one-line assignments: run them on the lines that hold a needle only.
_PER_LINE_PLUGINS = {"CloudantDetector", "IbmCloudIamDetector", "IbmCosHmacDetector", "SoftlayerDetector"}
_PLUGIN_LABELS = {
    "AWS Access Key": "AWS access key",
    "Basic Auth Credentials": "password in a URL",
    "GitHub Token": "GitHub token",
    "GitLab Token": "GitLab token",
    "JSON Web Token": "JSON web token",
    "Slack Token": "Slack token",
    "Stripe Access Key": "Stripe-style key",
}
_PLUGIN_NEEDLES = {  # substrings every match of the plugin contains; a plugin not listed always runs
    "ArtifactoryDetector": ("AKC", "AP"),
    "AWSKeyDetector": ("A3T", "ABIA", "ACCA", "AKIA", "ASIA", "aws"),
    "AzureStorageKeyDetector": ("accountkey=",),
    "BasicAuthDetector": ("://",),
    "CloudantDetector": ("cloudant", "clou", "cl_", "cl-", "clapi", "clkey", "clpw", "clpass", "cltoken"),
    "DiscordBotTokenDetector": (".",),
    "GitHubTokenDetector": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    "GitLabTokenDetector": ("gl", "GR1348941"),
    "IbmCloudIamDetector": ("key", "pwd", "pass", "token"),
    "IbmCosHmacDetector": ("secret",),
    "JwtTokenDetector": ("eyJ",),
    "MailchimpDetector": ("-us",),
    "NpmDetector": ("_authtoken",),
    "OpenAIDetector": ("T3BlbkFJ",),
    "PypiTokenDetector": ("pypi-",),
    "SendGridDetector": ("SG.",),
    "SlackDetector": ("xox", "hooks.slack.com"),
    "SoftlayerDetector": ("softlayer", "sl_", "sl-", "slapi", "slkey", "slpwd", "slpass", "sltoken"),
    "SquareOAuthDetector": ("sq0csp-",),
    "StripeDetector": ("k_live_",),
    "TelegramBotTokenDetector": (":",),
    "TwilioKeyDetector": ("AC", "SK"),
}


# Gates of plugin patterns, by a digest of the exact pattern they were read off (a pattern that changes
# in another detect-secrets release loses its gate and simply always runs when its needles are there).
_PLUGIN_GATES = {
    "e6d3c4d065e0": "long run",  # AWS: aws ... key ... '<40 of [0-9a-zA-Z/+]>'
    "de1d18ad6f14": "at sign",  # basic auth: a URL with a password, then an at sign
    "32126e884ccf": "long run",  # Cloudant: key = <64 hex>
    "aed550fbd128": "long run",  # Cloudant: key = <24 of [a-z]>
    "2fb7cf8120ae": "long run",  # Cloudant URL with 64 hex
    "b9f8e5dbb58f": "long run",  # Cloudant URL with 24 of [a-z]
    "fe064d6f9d32": "long run",  # Discord: [MNO] + 23 to 25 ... and 27 of [a-zA-Z\d_-]
    "c648a21f5382": "long run",  # GitLab: gldt- (5) + 20 of [A-Za-z0-9_-], the shortest of its prefixes
    "abb04ca8246c": "long run",  # GitLab: GR1348941 + 20
    "b462b30e2f4f": "long run",  # GitLab: glcbt- + 20
    "8f79265e486a": "long run",  # GitLab: glimt- + 25
    "6ad05d7bf454": "long run",  # GitLab: glptt- + 40
    "8bbe670344ec": "long run",  # GitLab: glagent- + 50
    "ff5a7624cc3c": "long run",  # GitLab: gloas- + 64
    "655a58af3964": "long run",  # IBM Cloud IAM: key = <44 of [a-zA-Z0-9_-]>
    "8dc9ad5623b9": "long run",  # IBM COS HMAC: secret key = <48 hex>
    "d5687e015476": "long run",  # Mailchimp: 32 of [0-9a-z] + -us<n>
    "249a8762e082": "long run",  # SoftLayer: key = <64 of [a-z0-9]>
    "bf23d3bd436f": "long run",  # SoftLayer URL with 64 of [a-z0-9]
    "3e018cd64d8c": "long run",  # Telegram: digits:<35 of [0-9A-Za-z_-]>
    "96fec62d66be": "long run",  # Twilio: AC + 32 of [a-z0-9]
    "eafe75ddc7bd": "long run",  # Twilio: SK + 32 of [a-z0-9]
}


def plugin_rules() -> list[Rule]:
    """One rule per pattern of every regex plugin detect-secrets ships (new plugins join by themselves)."""
    rules = []
    plugin_classes: list[Any] = list(get_mapping_from_secret_type_to_class().values())
    for plugin_class in plugin_classes:
        name = plugin_class.__name__
        if name in _SKIPPED_PLUGINS or not issubclass(plugin_class, RegexBasedDetector):
            continue
        jwt = name == "JwtTokenDetector"
        secret_type = str(plugin_class.secret_type)
        for regex in plugin_class.denylist:
            rules.append(
                Rule(
                    _PLUGIN_LABELS.get(secret_type, secret_type),
                    regex,
                    _PLUGIN_NEEDLES.get(name, ("",)),
                    group=0 if name in _WHOLE_MATCH_PLUGINS else None,
                    accept=_jwt_ok if jwt else None,
                    extend=_JWT_TAIL if jwt else None,
                    trim=True,
                    per_line=name in _PER_LINE_PLUGINS,
                    gate=_PLUGIN_GATES.get(hashlib.sha256(regex.pattern.encode()).hexdigest()[:12]),
                )
            )
    return rules
