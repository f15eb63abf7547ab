"""Phone numbers to E.164, so "+7 (912) 345-67-89", "89123456789" and WhatsApp's
"79123456789" are one contact."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "RU"


def to_e164(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """E.164 for a plausible number, None for anything else. Digits-only input without a
    plus that is not valid in `region` is tried as international (WhatsApp's wa_id)."""
    text = (raw or "").strip()
    if not text:
        return None
    candidates = [text]
    if text.isdigit():
        candidates.append("+" + text)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None
