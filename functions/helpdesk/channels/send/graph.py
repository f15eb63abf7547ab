"""Meta Graph API pieces shared by the WhatsApp Cloud API and the Messenger Send API.

Relied on (developers.facebook.com/docs/graph-api/guides/error-handling, WhatsApp Cloud API
error codes): errors come as `{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id", "is_transient"?}}`, often with HTTP 400 even for throttling. Codes 1 and 2
(unknown / service, "possibly temporary"), 4, 17, 32, 613 (call-rate limits), 341
(application limit), 80007, 130429, 131056 (WhatsApp rate limits) and 133004 (server
temporarily unavailable) pass with time."""

from __future__ import annotations

from typing import Any

from helpdesk.channels.send.base import ProviderError

GRAPH_VERSION = "v21.0"
DEFAULT_BASE_URL = "https://graph.facebook.com"
TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 341, 613, 80007, 130429, 131056, 133004})


def graph_error(payload: Any) -> ProviderError | None:
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return None
    code = error.get("code")
    subcode = error.get("error_subcode")
    label = f"{code}/{subcode}" if subcode else f"{code}"
    return ProviderError(f"error {label}: {error.get('message', 'unknown error')}",
                         temporary=bool(error.get("is_transient")) or code in TRANSIENT_CODES)
