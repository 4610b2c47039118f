"""The fuzz tests run against the real stack, like the integration tests, but their own
one, stopped when the module ends (not kept for the rest of the session)."""

import pytest

from tests.integration.conftest import issue  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def stack(services, tmp_path_factory):
    from services.stack import Stack

    with Stack(workers=1, beat=True, log_dir=tmp_path_factory.mktemp("fuzz-stack-logs"), web_workers=2) as running:
        yield running
