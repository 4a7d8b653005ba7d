import pytest

from tests.conftest import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """Integration tests run on SQLite always and on PostgreSQL when PORTAL_TEST_DATABASE_URL is set."""
    return request.param
