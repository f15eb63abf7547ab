"""The webhook receiver on 127.0.0.1 plays Slack here."""

from tests.webhooks_out.conftest import allow_localhost, receiver  # noqa: F401
