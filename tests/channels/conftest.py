"""DNS answers scripted per name, for the SSRF guard's resolver (as in tests/webhooks_out)."""

from tests.webhooks_out.conftest import fake_dns  # noqa: F401
