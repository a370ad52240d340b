"""The -m URL forms of the MongoObserver, their errors and credential redaction."""
import pytest

from observers.mongo.url import DEFAULT_DB, MongoUrlError, parse_url, redact

VALID = [
    ("mongodb://localhost:27017", "mongodb://localhost:27017", DEFAULT_DB),
    ("mongodb://u:pw@db.example:27017/expt", "mongodb://u:pw@db.example:27017/expt", "expt"),
    ("mongodb://h1:1,h2:2/runs?replicaSet=rs0", "mongodb://h1:1,h2:2/runs?replicaSet=rs0", "runs"),
    ("mongodb+srv://u:pw@cluster0.example.net/expt?retryWrites=true",
     "mongodb+srv://u:pw@cluster0.example.net/expt?retryWrites=true", "expt"),
    ("db.example:27017", "mongodb://db.example:27017", DEFAULT_DB),
    ("127.0.0.1:27018:experiments", "mongodb://127.0.0.1:27018", "experiments"),
    ("my_db", "mongodb://localhost:27017", "my_db"),
]


@pytest.mark.parametrize("value,uri,db", VALID)
def test_accepted_forms(value, uri, db):
    """Each accepted form gives the URI pymongo connects to and the database name."""
    target = parse_url(value)
    assert (target.uri, target.db_name) == (uri, db)


def test_explicit_db_name_wins():
    """db_name= overrides the database named in the URL."""
    assert parse_url("mongodb://h/a", "b").db_name == "b"
    assert parse_url("h:1:a", "b").db_name == "b"


INVALID = [
    ("", "empty", []),
    ("localhost:abc", "port 'abc' is not a number", []),
    ("a:1:b:c", "more than three", []),
    ("http://db.example/expt", "scheme must be mongodb://", []),
    ("mongdb://db.example/expt", "scheme must be", ["mongodb://db.example/expt"]),
    ("mongodb:/db.example", "", ["mongodb://db.example"]),
    ("mongodb://", "names no host", []),
    ("mongodb://h:xx/db", "port 'xx'", []),
    ("mongodb+srv://a.example:27017/db", "one host name without a port", []),
    ("mongodb://h/bad.name", "database name 'bad.name'", []),
    ("h:99999", "outside 1-65535", []),
    ("1bad db", "neither a host:port nor a database name", []),
]


@pytest.mark.parametrize("value,reason,suggestions", INVALID)
def test_malformed_values_name_the_accepted_forms(value, reason, suggestions):
    """A malformed value is a MongoUrlError with the reason, suggestions and accepted forms."""
    with pytest.raises(MongoUrlError) as info:
        parse_url(value)
    err = info.value
    assert reason in str(err)
    assert "Accepted forms: mongodb://" in str(err) and "host:port:db" in str(err)
    assert err.suggestions == suggestions
    assert isinstance(err, ValueError)


def test_error_message_hides_password():
    """The error for a malformed URL with credentials does not show the password."""
    with pytest.raises(MongoUrlError) as info:
        parse_url("mongodb://user:s3cret@h:xx/db")
    assert "s3cret" not in str(info.value)


REDACT = [
    ("mongodb://user:pw@h:1/db", "mongodb://***@h:1/db"),
    ("mongodb+srv://user:p@ss@c.example.net/x", "mongodb+srv://***@c.example.net/x"),
    ("mongodb://h/db?authMechanismProperties=AWS_SESSION_TOKEN:abc&w=1",
     "mongodb://h/db?authMechanismProperties=***&w=1"),
    ("mongodb://h/db?tlsCertificateKeyFilePassword=zz", "mongodb://h/db?tlsCertificateKeyFilePassword=***"),
    ("localhost:27017:db", "localhost:27017:db"),
]


@pytest.mark.parametrize("text,expected", REDACT)
def test_redact(text, expected):
    """Credentials and secret URI options are masked; other text is kept."""
    assert redact(text) == expected


def test_target_redacted_property():
    """MongoTarget.redacted is the URI without its password."""
    assert parse_url("mongodb://u:pw@h/db").redacted == "mongodb://***@h/db"


def test_option_factory_parses():
    """The -m flag's ObserverOption builds an observer and rejects a bad URL with MongoUrlError."""
    from observers.mongo import MongoDbOption

    assert (MongoDbOption.short, MongoDbOption.long, MongoDbOption.metavar) == ("-m", "--mongo_db", "URL")
    with pytest.raises(MongoUrlError):
        MongoDbOption.factory("localhost:notaport")
    obs = MongoDbOption.factory("127.0.0.1:1:somedb")
    assert obs.db_name == "somedb" and obs.url == "mongodb://127.0.0.1:1"
