"""Removing credentials from text before it is stored: URLs, command lines, option values.

Stored runs must never hold a password, so every string that may carry one (observer URLs on
the command line, the git remote, captured environment variables) passes through here.

Rules:
- the user-info part of any ``scheme://user:password@host`` URL becomes ``***``, and so does a
  user-only token (``https://TOKEN@github.com``); a bare user name is kept only for SSH-style
  schemes, where it is not a secret (``ssh://git@github.com/...``);
- on a command line, the value of an option whose name looks secret (``--password=x``,
  ``--token x``, ``--api-key x``) becomes ``***``.

The user-info is everything from ``scheme://`` to the last ``@`` before the host's end (``/``,
``?``, ``#``, whitespace or a quote), so an unencoded ``@`` inside a password is still caught.
"""
from __future__ import annotations

import re
from typing import Any, Sequence

MASK = "***"

# scheme://  then user-info up to the last '@' before the authority ends.
_URL_CREDENTIALS = r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/?#\s\"'<>]*)@"
# Schemes where a user name alone ("git@") is an account name, not a secret.
_SSH_SCHEMES = {"ssh", "git+ssh", "ssh+git", "sftp", "svn+ssh", "scp", "rsync"}
# Option names with a secret word as one of their parts: --password, --db-passwd, --api_key,
# --github-token (but not --tokenizer).
_SECRET_OPTION = (
    r"^-{1,2}(?:[A-Za-z0-9]*[_.\-])*"
    r"(?:password|passwd|pwd|passphrase|token|secret|api[_\-]?key|access[_\-]?key"
    r"|private[_\-]?key|credentials?|auth)"
    r"(?:[_.\-][A-Za-z0-9_.\-]*)?$"
)
_compiled: dict[str, re.Pattern] = {}


def _pattern(source: str, flags: int = 0) -> re.Pattern:
    """Compiled on first use: most runs have no '@' anywhere, and compiling costs ~0.5 ms."""
    pattern = _compiled.get(source)
    if pattern is None:
        pattern = _compiled[source] = re.compile(source, flags)
    return pattern


def _mask_userinfo(match: re.Match) -> str:
    scheme, userinfo = match.group("scheme"), match.group("userinfo")
    if not userinfo:
        return match.group(0)
    if ":" not in userinfo and scheme[:-3].lower() in _SSH_SCHEMES:
        return match.group(0)
    return f"{scheme}{MASK}@"


def redact_url(text: str) -> str:
    """`text` with the credentials of every URL in it replaced by ``***``."""
    if "@" not in text:  # the common case costs one scan
        return text
    return _pattern(_URL_CREDENTIALS).sub(_mask_userinfo, text)


def driver_error_text(error: Exception) -> str:
    """A database driver's error in one line for the user: its first reason without the
    timeouts and topology dump pymongo appends, URL credentials masked:
    '127.0.0.1:1: [Errno 111] Connection refused'."""
    text = redact_url(str(error)).split(", Timeout:")[0].split(", full error:")[0]
    return re.sub(r" \(configured timeouts:[^)]*\)", "", text)


def is_secret_option(arg: str) -> bool:
    """True for an option name (without ``=value``) whose value should not be stored."""
    return bool(_pattern(_SECRET_OPTION, re.IGNORECASE).match(arg))


def redact_argv(argv: Sequence[str]) -> list[str]:
    """A copy of `argv` with URL credentials and the values of secret-looking options masked.

    ``--password=x`` becomes ``--password=***``; ``--token x`` masks the next argument unless it
    is itself an option (``--token --verbose``: then ``--token`` was a flag).
    """
    out: list[str] = []
    mask_next = False
    for arg in argv:
        arg = str(arg)
        if mask_next:
            mask_next = False
            if not arg.startswith("--"):
                out.append(MASK)
                continue
        if arg.startswith("-"):
            name, eq, _value = arg.partition("=")
            if is_secret_option(name):
                if eq:
                    out.append(f"{name}={MASK}")
                else:
                    out.append(arg)
                    mask_next = True
                continue
        out.append(redact_url(arg))
    return out


def redact_tree(value: Any) -> Any:
    """`value` with :func:`redact_url` applied to every string inside dicts, lists and tuples."""
    if isinstance(value, str):
        return redact_url(value)
    if isinstance(value, dict):
        return {k: redact_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_tree(v) for v in value]
    return value
