"""The fuzz tests run against the same real stack as the integration tests."""

from tests.integration.conftest import issue, stack  # noqa: F401  (fixtures)
