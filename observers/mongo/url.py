"""The ``-m`` value: MongoDB URIs and Sacred's short forms, and removing credentials from them.

Accepted forms (``DEFAULT_DB`` is used when no database is named):

- ``mongodb://[user:pw@]host[:port][,host2...][/db][?options]``
- ``mongodb+srv://[user:pw@]cluster.example.net[/db][?options]``
- ``host:port``          -> ``mongodb://host:port``, database ``DEFAULT_DB``
- ``host:port:db``       -> ``mongodb://host:port``, database ``db``
- ``db``                 -> ``mongodb://localhost:27017``, database ``db``

Parsing never touches the network (``mongodb+srv`` is resolved by pymongo when it connects).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from expt.errors import UserInputError, did_you_mean, suggest
from expt.redact import MASK, redact_url

DEFAULT_DB = "sacred"  # Sacred's default, so `-m host:port` finds the runs Sacred wrote there
DEFAULT_HOST = "localhost:27017"

ACCEPTED_FORMS = ("mongodb://[user:password@]host[:port][/db][?options]",
                  "mongodb+srv://[user:password@]host[/db][?options]",
                  "host:port", "host:port:db", "db")
_SCHEMES = ("mongodb", "mongodb+srv")
_HOST = r"[0-9A-Za-z](?:[0-9A-Za-z\-]{0,61}[0-9A-Za-z])?(?:\.[0-9A-Za-z](?:[0-9A-Za-z\-]{0,61}[0-9A-Za-z])?)*"
# Database names: MongoDB forbids /\. "$ and spaces; keep Sacred's friendlier character set.
_DB = r"[_A-Za-z][0-9A-Za-z#%&'()+\-;=@\[\]^_{}]{0,63}"
_SHORT = re.compile(rf"^(?:(?P<host>{_HOST}|\[[0-9A-Fa-f:]+\]):(?P<port>\d{{1,5}})(?::(?P<db>{_DB}))?"
                    rf"|(?P<dbonly>{_DB}))$")
_DB_IN_URI = re.compile(r"^[^/\\. \"$]{1,63}$")
# URI options that carry secrets (pymongo option names, compared case-insensitively).
_SECRET_OPTIONS = {"password", "tlscertificatekeyfilepassword", "authmechanismproperties",
                   "sslpemkeypassword"}


class MongoUrlError(UserInputError, ValueError):
    """A ``-m`` / ``url`` value in none of the accepted forms."""

    def __init__(self, value: str, reason: str, suggestions: list[str] | None = None):
        self.value = value
        self.reason = reason
        self.suggestions = list(suggestions or [])
        forms = "; ".join(ACCEPTED_FORMS)
        super().__init__(f"Invalid MongoDB URL '{redact(value)}': {reason}."
                         f"{did_you_mean(self.suggestions)} Accepted forms: {forms}.")


@dataclass(frozen=True)
class MongoTarget:
    """Where to connect: a full URI for pymongo and the database name."""

    uri: str
    db_name: str
    db_given: bool = True  # False when db_name is DEFAULT_DB because the value named none

    @property
    def redacted(self) -> str:
        """The URI without credentials, safe to store and print."""
        return redact(self.uri)


def parse_url(value: str, db_name: str | None = None) -> MongoTarget:
    """Parse one of the accepted forms; an explicit `db_name` wins over one in the value."""
    if not isinstance(value, str) or not value.strip():
        raise MongoUrlError(str(value), "it is empty")
    value = value.strip()
    if "://" in value or value.lower().startswith("mongodb"):
        return _parse_uri(value, db_name)
    m = _SHORT.match(value)
    if m is None:
        raise MongoUrlError(value, _why_short_form_fails(value), _suggest(value))
    if m["dbonly"]:
        return MongoTarget(f"mongodb://{DEFAULT_HOST}", db_name or m["dbonly"])
    port = int(m["port"])
    if not 0 < port < 65536:
        raise MongoUrlError(value, f"port {port} is outside 1-65535")
    return MongoTarget(f"mongodb://{m['host']}:{port}", db_name or m["db"] or DEFAULT_DB,
                       bool(db_name or m["db"]))


def _parse_uri(value: str, db_name: str | None) -> MongoTarget:
    scheme, sep, rest = value.partition("://")
    if not sep:
        raise MongoUrlError(value, "a URI must start with mongodb:// or mongodb+srv://",
                            _suggest(value))
    if scheme.lower() not in _SCHEMES:
        close = suggest(scheme.lower(), _SCHEMES, n=1)
        hint = [f"{close[0]}://{rest or value.split(':', 1)[-1].lstrip('/')}"] if close else []
        raise MongoUrlError(value, "the scheme must be mongodb:// or mongodb+srv://", hint)
    parts = urlsplit(f"{scheme.lower()}://{rest}")
    host = parts.netloc.rpartition("@")[2]
    if not host:
        raise MongoUrlError(value, "it names no host")
    if scheme.lower() == "mongodb+srv" and ("," in host or re.search(r":\d+$", host)):
        raise MongoUrlError(value, "a mongodb+srv:// URI takes one host name without a port")
    for h in host.split(","):
        hp = h.rsplit(":", 1)
        if len(hp) == 2 and not h.endswith("]") and not hp[1].isdigit():
            raise MongoUrlError(value, f"port '{hp[1]}' of host '{hp[0]}' is not a number")
    path_db = unquote(parts.path.lstrip("/"))
    if path_db and not _DB_IN_URI.match(path_db):
        raise MongoUrlError(value, f"database name '{path_db}' is not valid in MongoDB")
    return MongoTarget(value, db_name or path_db or DEFAULT_DB, bool(db_name or path_db))


def _why_short_form_fails(value: str) -> str:
    pieces = value.split(":")
    if len(pieces) > 3:
        return "it has more than three ':'-separated parts"
    if len(pieces) >= 2 and not pieces[1].isdigit():
        return f"port '{pieces[1]}' is not a number"
    if len(pieces) == 3 and not re.match(rf"^{_DB}$", pieces[2]):
        return f"database name '{pieces[2]}' is not valid"
    if len(pieces) == 1:
        return f"'{value}' is neither a host:port nor a database name"
    return f"host '{pieces[0]}' is not a valid host name"


def _suggest(value: str) -> list[str]:
    low = value.lower()
    for wrong in ("mongodb:/", "mongo://", "mongodb//", "mongdb://", "mongodb:"):
        if low.startswith(wrong):
            return ["mongodb://" + value[len(wrong):].lstrip("/")]
    return []


def redact(text: str) -> str:
    """`text` with URL credentials and secret URI options replaced by ``***``."""
    text = redact_url(text)
    if "?" in text and "=" in text:
        text = re.sub(r"([?&;])([A-Za-z]+)=([^&;\s]*)",
                      lambda m: (f"{m[1]}{m[2]}={MASK}" if m[2].lower() in _SECRET_OPTIONS
                                 else m[0]), text)
    return text


def uri_options(uri: str) -> dict[str, str]:
    """The ``?key=value`` options of `uri` (lower-cased keys), for checks such as timeouts."""
    return {k.lower(): v for k, v in parse_qsl(urlsplit(uri).query)}
