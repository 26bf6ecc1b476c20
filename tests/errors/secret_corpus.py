"""Fake secrets in real formats, and ordinary error messages, for the secret detector's tests.

Every token is built at run time by a seeded generator, so this file holds no secret-shaped literal
(the scan of the repository's own files stays clean) and the tokens are obviously fake: they carry
FAKE (or fake) wherever their format allows letters. Lengths and alphabets are the real ones.
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass

UPPER, LOWER, DIGITS = string.ascii_uppercase, string.ascii_lowercase, string.digits
ALNUM = UPPER + LOWER + DIGITS
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"


def rnd(alphabet: str, n: int, seed: str) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


def fake(alphabet: str, n: int, seed: str, mark: str = "FAKE") -> str:
    """`n` characters of `alphabet` that start with `mark` (when the alphabet allows it)."""
    if all(c in alphabet for c in mark):
        return mark + rnd(alphabet, n - len(mark), seed)
    return rnd(alphabet, n, seed)


def _b64url(data: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _pem(label: str, seed: str) -> str:
    body = "\n".join(rnd(B64, 64, seed + str(i)) for i in range(4))
    return f"-----BEGIN {label}-----\nFAKE{body}\n-----END {label}-----"


@dataclass(frozen=True)
class Planted:
    """`text` is a line (or block) as it appears in `path` or in a log; `secret` must not survive redaction."""

    name: str
    path: str
    text: str
    secret: str


def _p(name: str, path: str, template: str, secret: str) -> Planted:
    return Planted(name, path, template.replace("{s}", secret), secret)


def planted_secrets() -> list[Planted]:
    """One entry per format: the formats detect-secrets knows and the ones our own rules add."""
    jwt = ".".join(
        (
            _b64url({"alg": "HS256", "typ": "JWT"}),
            _b64url({"sub": "fake-user-0001", "name": "FAKE"}),
            rnd(B64URL, 43, "jwt"),
        )
    )
    aws_secret = "Fake" + rnd(ALNUM, 18, "aws1") + "/" + rnd(ALNUM, 17, "aws2")
    basic = base64.b64encode(b"fake-user:FakePassw0rd").decode()
    docker_auth = base64.b64encode(b"fakebot:Fake-Registry-Pass-1").decode()
    uuid_token = "-".join(rnd(HEX, n, f"npm{n}") for n in (8, 4, 4, 4, 12))
    putty = (
        "PuTTY-User-Key-"
        + "File-2: ssh-rsa\nEncryption: none\nComment: fake-key\nPublic-Lines: 1\n"
        + rnd(B64, 64, "putty-pub")
        + "\nPrivate-Lines: 2\n"
        + rnd(B64, 64, "putty-1")
        + "\n"
        + rnd(B64, 40, "putty-2")
        + "\nPrivate-MAC: "
        + rnd(HEX, 40, "putty-mac")
    )
    return [
        _p(
            "AWS access key id",
            "app/aws.py",
            'AWS_ACCESS_KEY_ID = "{s}"',
            "AKIA" + fake(UPPER + DIGITS, 16, "akia"),
        ),
        _p(
            "AWS key id in a log",
            "logs/boto.log",
            "InvalidClientTokenId for {s} in eu-west-1",
            "ASIA" + fake(UPPER + DIGITS, 16, "asia"),
        ),
        _p(
            "AWS secret key, no label",
            "logs/deploy.log",
            "upload failed with {s} (check the clock)",
            aws_secret,
        ),
        _p(
            "AWS credentials file", ".aws/credentials", "aws_secret_access_key = {s}", rnd(B64, 40, "awscred")
        ),
        _p("GitHub classic token", "scripts/release.sh", "GH_TOKEN={s}", "ghp_" + fake(ALNUM, 36, "ghp")),
        _p("GitHub OAuth token", "logs/ci.log", "push rejected for gho_{s}", fake(ALNUM, 36, "gho")),
        _p("GitHub app token", "logs/ci.log", "installation token ghs_{s} expired", fake(ALNUM, 36, "ghs")),
        _p(
            "GitHub fine-grained token",
            "notes/setup.md",
            "use github_pat_{s} for the bot",
            "11" + fake(ALNUM, 20, "pat1") + "_" + fake(ALNUM, 59, "pat2"),
        ),
        _p("GitLab token", "ci/gitlab.yml", "  GITLAB_TOKEN: glpat-{s}", fake(ALNUM + "_-", 20, "glpat")),
        _p(
            "Slack bot token",
            "logs/bot.log",
            "slack auth.test failed: invalid_auth ({s})",
            "xoxb-" + rnd(DIGITS, 12, "sb1") + "-" + rnd(DIGITS, 13, "sb2") + "-" + fake(ALNUM, 24, "sb3"),
        ),
        _p(
            "Slack user token",
            "app/slack.py",
            'client = WebClient("{s}")',
            "xoxp-"
            + rnd(DIGITS, 12, "su1")
            + "-"
            + rnd(DIGITS, 12, "su2")
            + "-"
            + rnd(DIGITS, 13, "su3")
            + "-"
            + rnd(HEX, 32, "su4"),
        ),
        _p(
            "Slack webhook URL",
            "logs/alerts.log",
            "POST {s} -> 404 no_service",
            "https://hooks.slack.com/services/T0FAKE"
            + rnd(UPPER + DIGITS, 5, "sw1")
            + "/B0FAKE"
            + rnd(UPPER + DIGITS, 5, "sw2")
            + "/"
            + fake(ALNUM, 24, "sw3"),
        ),
        _p(
            "Stripe live secret key",
            "app/billing.py",
            'stripe.api_key = "{s}"',
            "sk_live_" + fake(ALNUM, 24, "skl"),
        ),
        _p(
            "Stripe restricted key",
            "logs/billing.log",
            "stripe: invalid api key rk_live_{s}",
            fake(ALNUM, 24, "rkl"),
        ),
        _p("Stripe test key", "tests_data/stripe.txt", "STRIPE_KEY=sk_test_{s}", fake(ALNUM, 24, "skt")),
        _p("Stripe webhook secret", "app/hooks.py", 'WEBHOOK = "whsec_{s}"', fake(ALNUM, 32, "whsec")),
        _p(
            "OpenAI legacy key",
            "logs/llm.log",
            "openai.AuthenticationError: Incorrect API key provided: {s}",
            "sk-" + fake(ALNUM, 20, "oai1") + "T3BlbkFJ" + rnd(ALNUM, 20, "oai2"),
        ),
        _p(
            "OpenAI project key",
            "app/llm.py",
            'OpenAI(api_key="sk-proj-{s}")',
            fake(ALNUM + "_-", 120, "oaip"),
        ),
        _p(
            "Anthropic key",
            "logs/llm.log",
            "401 invalid x-api-key sk-ant-api03-{s}",
            fake(ALNUM + "_-", 93, "ant") + "-AA",
        ),
        _p(
            "Google API key", "web/maps.js", 'const mapsKey = "{s}";', "AIza" + fake(ALNUM + "_-", 35, "aiza")
        ),
        _p(
            "npm token",
            "logs/publish.log",
            "npm ERR! 403 token {s} cannot publish",
            "npm_" + fake(ALNUM, 36, "npm"),
        ),
        _p(".npmrc auth token", ".npmrc", "//registry.npmjs.org/:_authToken={s}", uuid_token),
        _p(
            "Hugging Face token", "notebooks/train.py", 'login(token="hf_{s}")', fake(UPPER + LOWER, 34, "hf")
        ),
        _p(
            "PyPI token in .pypirc",
            ".pypirc",
            "password = {s}",
            "pypi-AgEIcHlwaS5vcmc" + fake(B64URL, 80, "pypi"),
        ),
        _p(
            "Azure storage connection string",
            "config/prod.env",
            "AZURE_STORAGE=DefaultEndpointsProtocol=https;AccountName=fakeacct;AccountKey={s};EndpointSuffix=core.windows.net",
            fake(B64, 86, "azure") + "==",
        ),
        _p(
            "SendGrid key",
            "logs/mail.log",
            "sendgrid 401 for {s}",
            "SG." + fake(B64URL, 22, "sg1") + "." + fake(B64URL, 43, "sg2"),
        ),
        _p("Twilio API key", "logs/sms.log", "twilio: {s} is not authorized", "SK" + rnd(HEX, 32, "twsk")),
        _p("Twilio account SID with token", "app/sms.py", 'TWILIO_AUTH_TOKEN = "{s}"', rnd(HEX, 32, "twtok")),
        _p(
            "Mailchimp key",
            "logs/newsletter.log",
            "mailchimp: API key {s} invalid",
            rnd(HEX, 32, "mc") + "-us14",
        ),
        _p(
            "Telegram bot token",
            "logs/bot.log",
            "telegram getMe failed for bot{s}",
            rnd(DIGITS, 9, "tg1") + ":AA" + fake(ALNUM + "_-", 33, "tg2"),
        ),
        _p(
            "Discord bot token",
            "logs/discord.log",
            "discord login failed: {s}",
            "M" + fake(ALNUM, 23, "dc1") + "." + rnd(ALNUM, 6, "dc2") + "." + fake(ALNUM + "_-", 27, "dc3"),
        ),
        _p(
            "Square OAuth secret",
            "app/square.py",
            'SQUARE_SECRET = "{s}"',
            "sq0csp-" + fake(ALNUM + "_-", 43, "sq"),
        ),
        _p("Shopify access token", "logs/shop.log", "shopify 401 for shpat_{s}", rnd(HEX, 32, "shp")),
        _p("DigitalOcean token", "infra/do.tf", 'token = "dop_v1_{s}"', rnd(HEX, 64, "dop")),
        _p("Databricks token", "logs/jobs.log", "databricks auth failed: dapi{s}", rnd(HEX, 32, "dapi")),
        _p(
            "Postman API key",
            "logs/postman.log",
            "postman: key PMAK-{s} revoked",
            rnd(HEX, 24, "pm1") + "-" + rnd(HEX, 34, "pm2"),
        ),
        _p("Artifactory API key", "ci/artifactory.txt", "ARTIFACTORY {s}", "AKC" + fake(ALNUM, 70, "akc")),
        _p("JSON web token", "logs/api.log", "rejected session {s} (expired)", jwt),
        _p(
            "URL password with a slash",
            "logs/db.log",
            "could not connect to postgres://app:{s}@db.internal:5432/app",
            "Fa/ke+" + rnd(ALNUM, 6, "urlpw") + "/pw",
        ),
        _p(
            "URL password, no user",
            "config/cache.ini",
            "url = redis://:{s}@cache.internal:6379/0",
            "FakeRedis" + rnd(ALNUM, 8, "redis"),
        ),
        _p(
            "URL password in an SMTP URL",
            "logs/mail.log",
            "auth failed for smtps://bot:{s}@smtp.example.com:465",
            "hunter2",
        ),
        _p(
            "Authorization: Token",
            "logs/http.log",
            "GET /api/v2/me 401 Authorization: Token {s}",
            rnd(HEX, 40, "tok"),
        ),
        _p("Authorization: Bearer", "logs/http.log", "Authorization: Bearer {s}", fake(B64URL, 32, "bearer")),
        _p("Authorization: Basic", "logs/http.log", "Authorization: Basic {s}", basic),
        _p(
            "Authorization header in a dict",
            "app/client.py",
            'headers = {"Authorization": "{s}"}',
            "Fake-" + rnd(ALNUM, 30, "hdr"),
        ),
        _p("X-Api-Key header", "logs/http.log", "X-Api-Key: {s}", fake(ALNUM, 32, "xapi")),
        _p(
            "Cookie header",
            "logs/http.log",
            "Cookie: sessionid={s}; theme=dark",
            fake(LOWER + DIGITS, 32, "cookie", "fake"),
        ),
        _p("short password, unquoted", "logs/auth.log", "login failed for user=bob password={s}", "hunt3r2"),
        _p("short password with colon", "logs/auth.log", "smtp login: password: {s} rejected", "pw4fake"),
        _p("password in settings.py", "app/settings.py", 'PASSWORD = "{s}"', "s3cr3t!"),
        _p("password in a prod .env", "config/prod.env", "DB_PASSWORD={s}", "Fake2024pw"),
        _p("secret key in .env", ".env.production", "SECRET_KEY={s}", fake(ALNUM, 50, "django")),
        _p("password in YAML", "k8s/secret.yaml", "  password: {s}", "fakeYamlPw9"),
        _p(
            "API key in JSON",
            "config/keys.json",
            '{"api_key": "{s}", "region": "eu"}',
            fake(ALNUM, 32, "jsonkey"),
        ),
        _p("password in .netrc", ".netrc", "machine api.example.com login bob password {s}", "FakeNetrc77"),
        _p("Docker registry auth", ".docker/config.json", '"auth": "{s}"', docker_auth),
        _p(
            "password in a libpq DSN",
            "logs/db.log",
            "dsn: host=db user=app password={s} dbname=app",
            "Fake-pw-77",
        ),
        _p("Go short assignment", "cmd/main.go", 'password := "{s}"', "FakeGoPass7"),
        _p("JavaScript apiKey", "web/app.js", 'const apiKey = "{s}";', fake(ALNUM, 32, "jskey")),
        _p("password comparison", "app/auth.py", 'if password == "{s}":', "letmein42"),
        _p(
            "quoted random string, no label",
            "app/client.py",
            'Client("{s}")',
            fake(ALNUM, 40, "entropy", "Fake"),
        ),
        _p("IBM Cloud IAM key", "config/ibm.ini", "ibm_cloud_iam_key = {s}", fake(ALNUM + "_-", 44, "ibm")),
        _p("RSA private key", "deploy/id_rsa", "{s}", _pem("RSA PRIVATE KEY", "rsa")),
        _p("OpenSSH private key", "deploy/id_ed25519", "{s}", _pem("OPENSSH PRIVATE KEY", "ssh")),
        _p("EC private key", "certs/ec.key", "{s}", _pem("EC PRIVATE KEY", "ec")),
        _p("encrypted PKCS#8 key", "certs/tls.pem", "{s}", _pem("ENCRYPTED PRIVATE KEY", "p8")),
        _p("PGP private key", "keys/signing.asc", "{s}", _pem("PGP PRIVATE KEY BLOCK", "pgp")),
        _p("PuTTY private key", "keys/deploy.ppk", "{s}", putty),
    ]


def must_vanish(planted: Planted) -> list[str]:
    """Parts of the secret that redaction must remove (a kind prefix such as `ghp_` may stay)."""
    secret = planted.secret
    lines = secret.splitlines()
    if "PuTTY" in secret:  # the public lines are public
        first = next(i for i, line in enumerate(lines) if line.startswith("Private-Lines"))
        return lines[first + 1 : -1]
    if "PRIVATE KEY" in secret:
        return [line for line in lines[1:-1] if len(line) >= 20]
    return [secret[-12:]] if len(secret) > 16 else [secret]


# -- ordinary error messages ----------------------------------------------------------------------

_AGENTS = ("email_agent", "calendar_agent", "billing", "crm_sync")
_HOSTS = ("llm-gateway.internal", "imap.mail.example.com", "db-primary.internal", "api.example.com")


def realistic_errors(n: int, seed: int = 7) -> list[str]:
    """`n` ordinary production errors: request ids, UUIDs, commit hashes, timestamps, paths, tracebacks.

    None of them holds a secret, so redaction (emails aside) must leave every one unchanged.
    """
    rng = random.Random(seed)

    def r(alphabet: str, k: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(k))

    def uuid() -> str:
        return "-".join(r(HEX, k) for k in (8, 4, 4, 4, 12))

    def iso() -> str:
        return f"2026-02-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{r(DIGITS, 6)}+00:00"

    def path() -> str:
        agent = rng.choice(_AGENTS)
        return f"/srv/agents/{agent}/{rng.choice(('client', 'runner', 'store', 'tools'))}.py"

    def traceback() -> str:
        frames = [
            (path(), "run_task", "result = await handler(**task.payload)"),
            (path(), "send", 'password = os.environ["SMTP_PASSWORD"]'),
            (path(), "login", "smtp.login(self._user, self._password)"),
            (path(), "headers", 'return {"Authorization": f"Bearer {self._token}"}'),
            (path(), "refresh", "token = self._tokens.get(account_id)"),
            (path(), "connect", "conn = await asyncpg.connect(dsn=self.dsn, password=password)"),
            (path(), "call", "response = await self._http.post(self._url, json=payload, auth=auth)"),
            (path(), "fetch", 'raise MailerAuthError(f"auth failed for {self._url} token={self._token}")'),
            (path(), "sign", "secret_key: str = settings.secret_key"),
            (path(), "load", "api_key = config.get('api_key') or os.getenv('API_KEY')"),
        ]
        lines = ["Traceback (most recent call last):"]
        for file, function, code in rng.sample(frames, k=rng.randint(2, 5)):
            lines += [f'  File "{file}", line {rng.randint(10, 900)}, in {function}', f"    {code}"]
        lines.append(f"TimeoutError: upstream {rng.choice(_HOSTS)} did not answer in {rng.randint(5, 90)}s")
        return "\n".join(lines)

    makers = [
        lambda: (
            f"TimeoutError: Gateway timeout: upstream {rng.choice(_HOSTS)}:{rng.randint(1000, 9999)} did not respond within {rng.randint(5, 90)}s (request {r(HEX, 12)})"
        ),
        lambda: (
            f"HTTPStatusError: Server error '503 Service Unavailable' for url 'https://{rng.choice(_HOSTS)}/api/v3/threads/{uuid()}/messages?page={rng.randint(1, 9)}&per_page=100'"
        ),
        lambda: (
            f"RateLimitError: 429 Too Many Requests (x-request-id: req_{r(HEX, 24)}, retry-after: {rng.randint(1, 60)})"
        ),
        lambda: f"KeyError: '{rng.choice(('message_id', 'thread_id', 'password', 'token', 'api_key'))}'",
        lambda: (
            f"FileNotFoundError: [Errno 2] No such file or directory: '/srv/data/{rng.choice(_AGENTS)}/{iso()[:10]}/{uuid()}.json'"
        ),
        lambda: f"fatal: reference is not a tree: {r(HEX, 40)}",
        lambda: (
            f"deploy {r(HEX, 7)} failed: /healthz returned 503 after {rng.randint(2, 9)} attempts at {iso()}"
        ),
        lambda: f"celery.exceptions.TimeoutError: task {uuid()} timed out after {rng.randint(30, 600)}s",
        lambda: (
            f"trace_id={r(HEX, 32)} span_id={r(HEX, 16)} ts={rng.randint(1_700_000_000_000, 1_800_000_000_000)} error=upstream_reset"
        ),
        lambda: (
            f"botocore.exceptions.ClientError: An error occurred (AccessDenied) when calling the GetObject operation: Access Denied (RequestId: {r(UPPER + DIGITS, 16)}, HostId: {r(B64, 76)}=)"
        ),
        lambda: (
            f'psycopg.OperationalError: connection to server at "{rng.choice(_HOSTS)}" (10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}), port 5432 failed: timeout expired'
        ),
        lambda: (
            f"ValidationError: 1 validation error for Task\npayload.message_id\n  Field required [type=missing, input_value={{'thread': '{r(HEX, 16)}'}}, input_type=dict]"
        ),
        lambda: (
            f"OSError: [Errno 28] No space left on device: '/var/lib/worker/cache/{r(HEX, 2)}/{r(HEX, 38)}'"
        ),
        lambda: (
            f"ConnectionResetError: [Errno 104] Connection reset by peer ({rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}:{rng.randint(1024, 65535)})"
        ),
        lambda: (
            f"AssertionError: expected status 200, got 401 for session {r(UPPER + DIGITS, 26)} at {iso()}"
        ),
        lambda: (
            f'sqlalchemy.exc.IntegrityError: duplicate key value violates unique constraint "tasks_pkey" DETAIL: Key (id)=({rng.randint(1, 10**9)}) already exists.'
        ),
        lambda: (
            f"RuntimeError: signature {r(HEX, 12)} regressed after merge of {r(HEX, 40)} (pr #{rng.randint(1, 999)})"
        ),
        lambda: (
            "ImportError: cannot import name 'TokenBucket' from 'ratelimit' (/srv/venv/lib/python3.11/site-packages/ratelimit/__init__.py)"
        ),
        lambda: f"auth: token expired at {iso()} for account {uuid()}; refreshing",
        lambda: f"ValueError: invalid literal for int() with base 10: '{r(DIGITS, 4)}x'",
        traceback,
    ]
    return [rng.choice(makers)() for _ in range(n)]
