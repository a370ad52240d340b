"""Session fixtures shared by every test folder: one real SecantusDB MongoDB server for the
whole session, started on first use (tests that never ask for it never start it) and stopped
at the end. Each test gets its own database name, so tests do not see each other's runs."""
from __future__ import annotations

import uuid

import pytest

from tests.mongo_server import MongoServer, free_port, start_server, stop_server


@pytest.fixture(scope="session")
def mongo_server():
    """The session's MongoDB server (real SecantusDB, in memory)."""
    port = free_port()
    server = MongoServer(port, start_server(port))
    yield server
    stop_server(server.pid)


@pytest.fixture(scope="session")
def mongo_client(mongo_server):
    """A pymongo client connected to the session server."""
    import pymongo

    client = pymongo.MongoClient(mongo_server.url, serverSelectionTimeoutMS=5000)
    yield client
    client.close()


@pytest.fixture
def mongo_db_name():
    """A fresh database name for one test."""
    return f"t_{uuid.uuid4().hex[:12]}"
