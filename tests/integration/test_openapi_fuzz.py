"""schemathesis over the OpenAPI schema: no generated input gets a 5xx.

Every operation of ``/openapi.json`` is called with inputs generated from its
own schema (valid ones and ones that break it) as a user with every role and a
bearer token, so the routes do their real work on a seeded SQLite database. A
5xx means some input reaches code that does not expect it: the API must answer
4xx naming the problem instead. The fake desk stands in for live call state.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from callcenter.ports import Principal, Role
from tests.app_over_db import build_app_over_db, token_for
from tests.conftest import seed_database

EVERY_ROLE = Principal(
    201, "fuzz-admin", frozenset({Role.ADMIN, Role.SUPERVISOR, Role.AGENT}), agent_id=1
)
EXAMPLES_PER_OPERATION = 30


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    db = Path(tmp_path_factory.mktemp("fuzz")) / "callcenter.db"
    url = f"sqlite+aiosqlite:///{db}"
    seed_database(url, customers=5)
    app = build_app_over_db(url)
    with TestClient(app):  # runs the lifespan around the whole module
        yield app


def test_no_generated_input_gets_a_server_error(app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {token_for(EVERY_ROLE)}"}
    server_errors: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50, "the schema lost its operations"
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def call(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            if response.status_code >= 500:
                server_errors.append(
                    f"{case.method} {case.formatted_path} {case.query or ''} "
                    f"-> {response.status_code}: {response.text[:300]}"
                )

        call()
    assert server_errors == []
