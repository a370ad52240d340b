"""Tests for expt.redact: credentials never survive into stored text."""
import pytest

from expt.redact import (driver_error_text, is_secret_option, redact_argv, redact_tree,
                         redact_url)

URL_CASES = [
    # (input, expected)
    ("mongodb://user:pass@host:27017/db", "mongodb://***@host:27017/db"),
    ("mongodb+srv://admin:s3cr3t@cluster0.example.net/test?retryWrites=true",
     "mongodb+srv://***@cluster0.example.net/test?retryWrites=true"),
    ("mongodb://u:p@h1:27017,h2:27017,h3:27017/db?replicaSet=rs0",
     "mongodb://***@h1:27017,h2:27017,h3:27017/db?replicaSet=rs0"),
    ("https://user:token@github.com/org/repo.git", "https://***@github.com/org/repo.git"),
    ("https://ghp_abcdef123456@github.com/org/repo.git", "https://***@github.com/org/repo.git"),
    ("http://alice@example.com/", "http://***@example.com/"),
    ("git+https://oauth2:glpat-xyz@gitlab.com/g/p.git@v1.0",
     "git+https://***@gitlab.com/g/p.git@v1.0"),
    ("postgresql://me:p%40ss@db.local:5432/x", "postgresql://***@db.local:5432/x"),
    ("redis://:onlypassword@cache:6379/0", "redis://***@cache:6379/0"),
    ("amqp://guest:guest@rabbit", "amqp://***@rabbit"),
    ("mongodb://user:p@ss@host/db", "mongodb://***@host/db"),  # unencoded '@' in the password
    ("HTTPS://User:Pw@Example.COM", "HTTPS://***@Example.COM"),
    ("ftp://anon:x@ftp.example.org/pub", "ftp://***@ftp.example.org/pub"),
    ("ssh://user:pw@host/repo", "ssh://***@host/repo"),
    # nothing secret: unchanged
    ("ssh://git@github.com/org/repo.git", "ssh://git@github.com/org/repo.git"),
    ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
    ("https://github.com/org/repo.git", "https://github.com/org/repo.git"),
    ("git+https://github.com/org/repo.git@v1.2", "git+https://github.com/org/repo.git@v1.2"),
    ("https://registry.npmjs.org/@scope/pkg", "https://registry.npmjs.org/@scope/pkg"),
    ("https://host/search?email=a@b.com", "https://host/search?email=a@b.com"),
    ("https://host/page#frag@x", "https://host/page#frag@x"),
    ("mongodb://localhost:27017", "mongodb://localhost:27017"),
    ("write to me@example.com", "write to me@example.com"),
    ("", ""),
    # URLs inside longer text, several at once, quoted
    ("connecting to mongodb://u:p@db:27017 and https://t0k@api.io/v1 now",
     "connecting to mongodb://***@db:27017 and https://***@api.io/v1 now"),
    ('url="https://u:p@h.com/x"', 'url="https://***@h.com/x"'),
    ("origin\thttps://bot:tok@git.example.com/r.git (fetch)",
     "origin\thttps://***@git.example.com/r.git (fetch)"),
]


@pytest.mark.parametrize("text, expected", URL_CASES)
def test_redact_url(text, expected):
    """Each URL shape loses its user-info, and nothing else changes."""
    assert redact_url(text) == expected


ARGV_CASES = [
    (["run.py", "-m", "mongodb://u:p@h/db"], ["run.py", "-m", "mongodb://***@h/db"]),
    (["run.py", "--mongo_db=mongodb://u:p@h/db"], ["run.py", "--mongo_db=mongodb://***@h/db"]),
    (["x", "--password=hunter2"], ["x", "--password=***"]),
    (["x", "--password", "hunter2", "with", "a=1"], ["x", "--password", "***", "with", "a=1"]),
    (["x", "--token", "abc"], ["x", "--token", "***"]),
    (["x", "--api-key", "k", "--api_key=k2", "--apikey", "k3"],
     ["x", "--api-key", "***", "--api_key=***", "--apikey", "***"]),
    (["x", "--db-password", "-dash-start"], ["x", "--db-password", "***"]),
    (["x", "--secret", "--verbose"], ["x", "--secret", "--verbose"]),  # used as a flag
    (["x", "--AUTH_TOKEN=Z"], ["x", "--AUTH_TOKEN=***"]),
    (["x", "--print_config", "with", "lr=0.1"], ["x", "--print_config", "with", "lr=0.1"]),
    (["x", "--name", "token"], ["x", "--name", "token"]),  # 'token' as a value is not secret
    (["x", "--loglevel", "DEBUG", "-F", "runs"], ["x", "--loglevel", "DEBUG", "-F", "runs"]),
    ([], []),
]


@pytest.mark.parametrize("argv, expected", ARGV_CASES)
def test_redact_argv(argv, expected):
    """Secret option values and URL credentials are masked in a command line."""
    assert redact_argv(argv) == expected


def test_redact_argv_returns_copy():
    """The input list is left untouched."""
    argv = ["x", "--password=y"]
    redact_argv(argv)
    assert argv == ["x", "--password=y"]


@pytest.mark.parametrize("name, secret", [
    ("--password", True), ("--passwd", True), ("-pwd", True), ("--github-token", True),
    ("--client_secret", True), ("--aws-access-key", True), ("--credentials", True),
    ("--name", False), ("--loglevel", False), ("--unobserved", False), ("-F", False),
    ("--enforce_clean", False), ("--tokenizer", False), ("--auth", True),
    ("--my.api.key", False), ("--PASSWORD", True),
])
def test_is_secret_option(name, secret):
    """Option names are classified by the secret words they contain."""
    assert is_secret_option(name) is secret


@pytest.mark.parametrize("value, expected", [
    ({"db": "mongodb://u:p@h/x", "n": 3, "nested": {"urls": ["https://t@a.io", "plain"]}},
     {"db": "mongodb://***@h/x", "n": 3, "nested": {"urls": ["https://***@a.io", "plain"]}}),
    (("https://u:p@h", None, 1.5), ["https://***@h", None, 1.5]),
    ("no url", "no url"),
    (42, 42),
])
def test_redact_tree(value, expected):
    """Every string inside nested dicts, lists and tuples loses its URL credentials."""
    assert redact_tree(value) == expected


def test_driver_error_text_keeps_the_reason_only():
    """pymongo's server-selection error shrinks to its reason, credentials masked."""
    error = Exception("127.0.0.1:1: [Errno 111] Connection refused (configured timeouts: "
                      "socketTimeoutMS: 20000.0ms), Timeout: 5.0s, Topology Description: <...>")
    assert driver_error_text(error) == "127.0.0.1:1: [Errno 111] Connection refused"
    assert driver_error_text(Exception("mongodb://u:pw@h/db: authentication failed, full "
                                       "error: {'ok': 0.0}")) == \
        "mongodb://***@h/db: authentication failed"
