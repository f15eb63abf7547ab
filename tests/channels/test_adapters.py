"""Provider webhooks through `handle_webhook`: each request is verified the provider's way before
anything in it is read, then normalized. Payloads under payloads/ follow each provider's
documented shapes (Telegram Bot API, VK Callback API 5.131, Viber REST Bot API, WhatsApp Cloud
API, Messenger Platform); signatures are computed here with hmac, never by the code under test."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.channels.adapters import SUPPORTED_TYPES, handle_webhook, sign_custom
from helpdesk.channels.events import (
    ChannelMessage,
    ChannelSecrets,
    Ignored,
    Media,
    MessageDeleted,
    MessageEdited,
    Sender,
    StatusUpdate,
    WebhookRequest,
    WebhookResult,
)
from helpdesk.errors import Forbidden, InvalidInput, Unauthorized

PAYLOADS = Path(__file__).parent / "payloads"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

VIBER_TOKEN = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"
APP_SECRET = "meta-app-secret-9d2e"
CUSTOM_SECRET = "whsec_test_4c1b"
SECRETS = {
    "telegram": ChannelSecrets(token="7000000001:AAE-example", webhook_secret="tg-secret_7f3a"),
    "vk": ChannelSecrets(
        webhook_secret="vk-secret-4f9a", confirmation="d8v2ve07", account_id="218212345"
    ),
    "viber": ChannelSecrets(token=VIBER_TOKEN),
    "whatsapp": ChannelSecrets(
        app_secret=APP_SECRET, verify_token="wa-verify-1", account_id="106540352242922"
    ),
    "facebook": ChannelSecrets(
        app_secret=APP_SECRET, verify_token="fb-verify-1", account_id="104365012315678"
    ),
    "instagram": ChannelSecrets(
        app_secret=APP_SECRET, verify_token="ig-verify-1", account_id="17841400008460056"
    ),
    "custom": ChannelSecrets(webhook_secret=CUSTOM_SECRET),
}
HUB = ("whatsapp", "facebook", "instagram")
# The header each provider authenticates with, as its docs spell it.
AUTH_HEADER = {
    "telegram": "X-Telegram-Bot-Api-Secret-Token",
    "viber": "X-Viber-Content-Signature",
    "whatsapp": "X-Hub-Signature-256",
    "facebook": "X-Hub-Signature-256",
    "instagram": "X-Hub-Signature-256",
    "custom": "X-Helpdesk-Signature",
}
SAMPLE = {
    "telegram": "telegram_text",
    "vk": "vk_message_new",
    "viber": "viber_text",
    "whatsapp": "whatsapp_text",
    "facebook": "facebook_text",
    "instagram": "instagram_text",
    "custom": "custom_message",
}


def raw(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def hex_hmac(key: str, message: bytes) -> str:
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def auth_headers(channel: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers the real provider would send with `body`."""
    secrets = SECRETS[channel]
    if channel == "telegram":
        return {"x-telegram-bot-api-secret-token": secrets.webhook_secret}
    if channel == "viber":
        return {"x-viber-content-signature": hex_hmac(VIBER_TOKEN, body)}
    if channel in HUB:
        return {"x-hub-signature-256": "sha256=" + hex_hmac(APP_SECRET, body)}
    if channel == "custom":
        stamp = int(NOW.timestamp()) if timestamp is None else timestamp
        signature = hex_hmac(CUSTOM_SECRET, f"{stamp}.".encode() + body)
        return {"x-helpdesk-timestamp": str(stamp), "x-helpdesk-signature": f"sha256={signature}"}
    return {}  # VK: the secret is inside the body


def post(body: bytes, headers: dict[str, str] | None = None) -> WebhookRequest:
    """A POST as providers send it: JSON (`headers` may say otherwise)."""
    return WebhookRequest(method="POST", headers={"content-type": "application/json",
                                                  **(headers or {})}, query={}, body=body)


def signed(channel: str, body: bytes) -> WebhookRequest:
    return post(body, {"content-type": "application/json", **auth_headers(channel, body)})


def deliver(channel: str, name: str) -> WebhookResult:
    return handle_webhook(channel, SECRETS[channel], signed(channel, raw(name)), NOW)


def only(result: WebhookResult):
    assert len(result.events) == 1, result.events
    return result.events[0]


def refused(channel: str, request: WebhookRequest, error: type[Exception], match: str) -> str:
    with pytest.raises(error, match=match) as caught:
        handle_webhook(channel, SECRETS[channel], request, NOW)
    return caught.value.details


# ------------------------------------------------------------------ registry


def test_every_documented_channel_type_is_supported():
    assert set(SUPPORTED_TYPES) == {
        "telegram",
        "vk",
        "viber",
        "whatsapp",
        "facebook",
        "instagram",
        "custom",
    }


def test_unknown_channel_type_is_refused_naming_the_supported_ones():
    with pytest.raises(InvalidInput) as caught:
        handle_webhook("sms", ChannelSecrets(), post(b"{}"), NOW)
    assert "'sms'" in caught.value.details
    assert "telegram" in caught.value.details
    assert caught.value.field == "channel_type"


# ------------------------------------------------------------------ signature byte layout


def test_custom_signature_pins_timestamp_dot_body_layout():
    # Computed independently of the code under test:
    #   printf '1764234000.<body>' | openssl dgst -sha256 -hmac whsec_test_4c1b
    body = b'{"id":"evt_1","conversation":"c1","sender":{"id":"u1"},"text":"hi"}'
    expected = "sha256=f6c4eab3fc671f4ed9942edfa9ea94cf09d6ad2a8bff085d67a3546855a277a6"
    assert sign_custom(CUSTOM_SECRET, 1764234000, body) == expected
    assert sign_custom(CUSTOM_SECRET, "1764234000", body) == expected

    request = post(body, {"x-helpdesk-timestamp": "1764234000", "x-helpdesk-signature": expected})
    sent_at = datetime.fromtimestamp(1764234000, UTC)
    result = handle_webhook("custom", SECRETS["custom"], request, sent_at)
    assert only(result).sender.external_id == "u1"


def test_viber_signature_is_hex_hmac_of_the_raw_body_keyed_with_the_token():
    # openssl dgst -sha256 -hmac <token> over exactly these bytes
    body = b'{"event":"webhook","timestamp":1457764197627,"message_token":241256543215}'
    signature = "bd52434b46be1542d32bfa5e3332b757b927e183c5ef3b20a5f9877207dc55b9"
    result = handle_webhook(
        "viber", SECRETS["viber"], post(body, {"x-viber-content-signature": signature}), NOW
    )
    assert result == WebhookResult()  # set_webhook's check: 200, nothing to ingest

    # Same JSON re-serialized with spaces: different bytes, so the signature no longer fits.
    respaced = json.dumps(json.loads(body)).encode()
    request = post(respaced, {"x-viber-content-signature": signature})
    refused("viber", request, Forbidden, "X-Viber-Content-Signature does not match")


def test_hub_signature_is_sha256_prefixed_hex_hmac_keyed_with_the_app_secret():
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    header = "sha256=7444ebfed21705e9afbf9325fa83904d18e7c50eb0c5e83052ab16313ac3974a"
    result = handle_webhook(
        "whatsapp", SECRETS["whatsapp"], post(body, {"x-hub-signature-256": header}), NOW
    )
    assert (result.status, result.body, result.events) == (200, "EVENT_RECEIVED", ())


# ------------------------------------------------------------------ refusals, all providers


@pytest.mark.parametrize("channel", [c for c in SUPPORTED_TYPES if c != "vk"])
def test_request_without_its_auth_header_is_unauthorized(channel):
    body = raw(SAMPLE[channel])
    headers = auth_headers(channel, body)
    headers = {k: v for k, v in headers.items() if k != AUTH_HEADER[channel].lower()}
    details = refused(channel, post(body, headers), Unauthorized, "missing")
    assert AUTH_HEADER[channel] in details


@pytest.mark.parametrize("channel", [c for c in SUPPORTED_TYPES if c != "vk"])
def test_request_signed_with_another_key_is_forbidden(channel):
    body = raw(SAMPLE[channel])
    forged = {
        "telegram": "not-the-secret",
        "viber": hex_hmac("another-token", body),
        "custom": "sha256=" + hex_hmac("another", f"{int(NOW.timestamp())}.".encode() + body),
    }.get(channel, "sha256=" + hex_hmac("another-app", body))
    headers = {**auth_headers(channel, body), AUTH_HEADER[channel].lower(): forged}
    details = refused(channel, post(body, headers), Forbidden, "does not match")
    assert AUTH_HEADER[channel] in details


@pytest.mark.parametrize("channel", ["viber", *HUB, "custom"])
def test_body_changed_after_signing_is_forbidden(channel):
    body = raw(SAMPLE[channel])
    tampered = body.replace(b'"', b"'", 1)  # one byte changed: no longer even JSON
    request = post(tampered, auth_headers(channel, body))
    # Forbidden, not "bad JSON": nothing is parsed before the signature matched.
    refused(channel, request, Forbidden, "does not match")


@pytest.mark.parametrize("channel", [*HUB, "custom"])
def test_signature_header_without_sha256_scheme_is_forbidden(channel):
    body = raw(SAMPLE[channel])
    headers = auth_headers(channel, body)
    name = AUTH_HEADER[channel].lower()
    headers[name] = headers[name].replace("sha256=", "sha1=")
    refused(channel, post(body, headers), Forbidden, r"must look like sha256=<hex digest>")


@pytest.mark.parametrize(
    ("channel", "secrets", "missing"),
    [
        ("telegram", ChannelSecrets(token="t"), "Telegram secret_token"),
        ("vk", ChannelSecrets(confirmation="c"), "VK secret key"),
        ("viber", ChannelSecrets(), "Viber auth token"),
        ("whatsapp", ChannelSecrets(verify_token="v"), "app secret"),
        ("facebook", ChannelSecrets(verify_token="v"), "app secret"),
        ("custom", ChannelSecrets(), "webhook secret"),
    ],
)
def test_channel_without_a_configured_secret_refuses_everything(channel, secrets, missing):
    # Even a request "signed" with the empty key: an unconfigured channel must fail closed.
    body = raw(SAMPLE[channel])
    headers = {
        "x-telegram-bot-api-secret-token": "anything",
        "x-viber-content-signature": hex_hmac("", body),
        "x-hub-signature-256": "sha256=" + hex_hmac("", body),
        "x-helpdesk-timestamp": str(int(NOW.timestamp())),
        "x-helpdesk-signature": sign_custom("", int(NOW.timestamp()), body),
    }
    with pytest.raises(Forbidden, match=f"no {missing} configured"):
        handle_webhook(channel, secrets, post(body, headers), NOW)


@pytest.mark.parametrize("channel", [c for c in SUPPORTED_TYPES if c != "vk"])
def test_verified_body_that_is_not_json_is_invalid_input(channel):
    body = b"<xml>not json</xml>"
    refused(channel, signed(channel, body), InvalidInput, "body is not valid JSON")


@pytest.mark.parametrize("channel", ["telegram", "viber", *HUB, "custom"])
@pytest.mark.parametrize(("body", "why"), [
    (b'{"update_id": 1, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested deeper"),
    (b'{"update_id": 1, "x": ' + b"[" * 33 + b"]" * 33 + b"}", "nested deeper"),
    (b'{"update_id": ' + b"9" * 5_000 + b"}", "not valid JSON"),
    (b'{"update_id": NaN}', "NaN is not a number"),
])
def test_a_verified_body_no_parser_should_take_is_invalid_input_not_a_crash(channel, body,
                                                                             why):
    """A signed update nested 100,000 levels was a RecursionError (500, retried for ever)."""
    refused(channel, signed(channel, body), InvalidInput, why)


@pytest.mark.parametrize("channel", ["telegram", "viber", *HUB, "custom"])
def test_verified_json_that_is_not_an_object_is_invalid_input(channel):
    refused(channel, signed(channel, b"[1, 2]"), InvalidInput, "must be a JSON object")


@pytest.mark.parametrize(
    ("channel", "body", "provider"),
    [
        ("telegram", b'{"message": {"text": "no update_id"}}', "Telegram"),
        ("telegram", b'{"update_id": 1, "message": {"text": "no chat"}}', "Telegram"),
        ("viber", b'{"event": "message", "message_token": 1}', "Viber"),
        ("whatsapp", b'{"object": "whatsapp_business_account"}', "WhatsApp"),
        (
            "facebook",
            b'{"object": "page", "entry": [{"id": "104365012315678", "messaging": [{}]}]}',
            "Facebook",
        ),
    ],
)
def test_verified_payload_missing_what_we_need_is_invalid_input(channel, body, provider):
    refused(channel, signed(channel, body), InvalidInput, f"malformed {provider} payload")


@pytest.mark.parametrize(("channel", "method"), [("telegram", "GET"), ("whatsapp", "PUT")])
def test_unexpected_method_is_invalid_input(channel, method):
    request = WebhookRequest(method=method, headers={}, query={}, body=b"")
    refused(channel, request, InvalidInput, f"method {method} is not accepted")


# ------------------------------------------------------------------ Telegram


def test_telegram_text_message():
    result = deliver("telegram", "telegram_text")
    assert (result.status, result.body) == (200, "")
    assert only(result) == ChannelMessage(
        event_id="tg:815190001",
        conversation="123456789",
        sender=Sender(
            external_id="123456789", name="Anna Petrova", username="anna_p", language="ru"
        ),
        text="Принтер не печатает",
        provider_message_id="1365",
        sent_at=datetime(2025, 11, 27, 9, 0, tzinfo=UTC),
        extra={"chat_type": "private"},
    )


def test_telegram_group_message_replies_go_to_the_group():
    message = only(deliver("telegram", "telegram_group_text"))
    assert message.conversation == "-1001234567890"
    assert message.sender == Sender(external_id="555000111", name="Boris")
    assert message.extra == {"chat_type": "supergroup", "reply_to": "75"}


@pytest.mark.parametrize(
    ("name", "text", "media"),
    [
        ("telegram_photo", "Вот ошибка", Media("photo", "AgACAgIAAxkBAAIBa2V_large", size=85012)),
        (
            "telegram_document",
            "Счёт",
            Media(
                "document",
                "BQACAgIAAxkBAAIBbGV_doc",
                name="invoice-2026-11.pdf",
                content_type="application/pdf",
                size=48213,
            ),
        ),
        (
            "telegram_audio",
            "",
            Media(
                "audio",
                "CQACAgIAAxkBAAIBbWV_audio",
                name="call-recording.mp3",
                content_type="audio/mpeg",
                size=3441022,
            ),
        ),
        (
            "telegram_video",
            "",
            Media(
                "video",
                "BAACAgIAAxkBAAIBbmV_video",
                name="screen.mp4",
                content_type="video/mp4",
                size=2212345,
            ),
        ),
        (
            "telegram_voice",
            "",
            Media("voice", "AwACAgIAAxkBAAIBb2V_voice", content_type="audio/ogg", size=14020),
        ),
        ("telegram_sticker", "", Media("sticker", "CAACAgIAAxkBAAIBcGV_sticker", size=23456)),
        ("telegram_location", "", Media("location", "55.755826,37.6173")),
    ],
)
def test_telegram_media_kinds(name, text, media):
    message = only(deliver("telegram", name))
    assert (message.text, message.media) == (text, (media,))


def test_telegram_users_own_contact_gives_their_phone():
    message = only(deliver("telegram", "telegram_contact_own"))
    assert message.sender.phone == "+79001234567"
    assert message.text == ""


def test_telegram_someone_elses_contact_is_text_not_the_senders_phone():
    message = only(deliver("telegram", "telegram_contact_other"))
    assert message.sender.phone == ""
    assert message.text == "Contact: Boris Sidorov +79007654321"


def test_telegram_edited_message():
    assert only(deliver("telegram", "telegram_edited")) == MessageEdited(
        event_id="tg:815190012",
        conversation="123456789",
        provider_message_id="1365",
        text="Принтер не печатает, ошибка E05",
    )


@pytest.mark.parametrize(
    ("name", "update_id", "kind"),
    [
        ("telegram_callback_query", 815190013, "callback_query"),
        ("telegram_my_chat_member", 815190014, "my_chat_member"),
        ("telegram_channel_post", 815190015, "channel_post"),
    ],
)
def test_telegram_other_update_types_are_acknowledged_and_ignored(name, update_id, kind):
    result = deliver("telegram", name)
    event = only(result)
    assert result.status == 200
    assert isinstance(event, Ignored)
    assert event.event_id == f"tg:{update_id}"
    assert kind in event.reason


# ------------------------------------------------------------------ VK


def test_vk_confirmation_answers_the_confirmation_string_without_a_secret():
    result = deliver("vk", "vk_confirmation")
    assert result == WebhookResult(body="d8v2ve07")
    assert result.content_type.startswith("text/plain")


def test_vk_confirmation_for_another_group_is_forbidden():
    body = json.dumps({"type": "confirmation", "group_id": 1}).encode()
    refused("vk", post(body), Forbidden, "group_id '1' is not this channel's group")


def test_vk_message_new():
    result = deliver("vk", "vk_message_new")
    assert (result.status, result.body) == (200, "ok")
    assert only(result) == ChannelMessage(
        event_id="vk:da1b15e9f6d0c3c8a0c937e048cdd3e2b43794d0",
        conversation="61244431",
        sender=Sender(external_id="61244431"),
        text="Здравствуйте, не приходит счёт",
        provider_message_id="5123",
        sent_at=datetime(2025, 11, 27, 9, 0, tzinfo=UTC),
        extra={"lang_id": "0"},
    )


def test_vk_community_chat_message_is_keyed_by_conversation_message_id():
    message = only(deliver("vk", "vk_message_new_chat"))
    assert message.conversation == "2000000066"
    assert message.provider_message_id == "cmid:2170"  # `id` is 0 in community chats


def test_vk_attachments_of_every_kind():
    message = only(deliver("vk", "vk_message_new_attachments"))
    assert message.text == "Скриншот и договор"
    assert message.media == (
        Media("photo", "https://sun9-1.userapi.com/w.jpg"),  # the largest of the sizes
        Media(
            "document",
            "https://vk.com/doc61244431_674000111?hash=abc&dl=def",
            name="contract.pdf",
            size=254831,
        ),
        Media("voice", "https://psv4.userapi.com/voice.ogg", content_type="audio/ogg"),
        Media("audio", "https://cs1.vkuseraudio.net/a.mp3", name="hold-music"),
        Media("video", "video61244431_456239555_5b3c1d", name="bug.mp4"),
        Media("sticker", "https://vk.com/sticker/1-9009-512"),
        Media("other", "https://status.example.com/incident/42", name="Incident 42"),
        Media("other", "wall-218212345_1023"),
        Media("location", "59.93863,30.31413"),
    )


def test_vk_message_edit():
    result = deliver("vk", "vk_message_edit")
    assert only(result) == MessageEdited(
        event_id="vk:5e2a9c1b7d3f4a6e8c0b2d4f6a8c0e1f3b5d7a91",
        conversation="61244431",
        provider_message_id="5123",
        text="Здравствуйте, не приходит счёт за ноябрь",
    )


@pytest.mark.parametrize(
    ("name", "reason"),
    [("vk_message_reply", "our own outgoing"), ("vk_group_join", "group_join is not handled")],
)
def test_vk_our_replies_and_other_events_are_ignored_with_ok(name, reason):
    result = deliver("vk", name)
    assert result.body == "ok"
    event = only(result)
    assert isinstance(event, Ignored)
    assert reason in event.reason


def test_vk_wrong_secret_is_forbidden_and_missing_secret_unauthorized():
    payload = json.loads(raw("vk_message_new"))
    wrong = json.dumps({**payload, "secret": "guess"}).encode()
    refused("vk", post(wrong), Forbidden, "VK callback secret does not match")
    missing = json.dumps({k: v for k, v in payload.items() if k != "secret"}).encode()
    refused("vk", post(missing), Unauthorized, "missing secret")


def test_vk_right_secret_from_another_group_is_forbidden():
    payload = json.loads(raw("vk_message_new"))
    body = json.dumps({**payload, "group_id": 999}).encode()
    refused("vk", post(body), Forbidden, "group_id '999'")


def test_vk_body_that_is_not_json_is_invalid_input():
    refused("vk", post(b"type=confirmation"), InvalidInput, "not valid JSON")


# ------------------------------------------------------------------ Viber


def test_viber_text_message_keeps_every_digit_of_the_64_bit_token():
    result = deliver("viber", "viber_text")
    assert (result.status, result.body) == (200, "")
    assert only(result) == ChannelMessage(
        event_id="viber:4912661846655238145",
        conversation="01234567890A=",
        sender=Sender(external_id="01234567890A=", name="John McClane", language="en"),
        text="a message to the service",
        provider_message_id="4912661846655238145",
        sent_at=datetime(2016, 3, 12, 6, 29, 57, 627000, tzinfo=UTC),
        extra={"message_type": "text", "country": "UK", "tracking_data": "ticket-1001"},
    )


@pytest.mark.parametrize(
    ("name", "text", "media"),
    [
        (
            "viber_picture",
            "screenshot",
            Media(
                "photo",
                "https://dl-media.viber.com/1/share/2/long/vibes/icon/image/0x0/95e0/"
                "5688fdffdaa81c41b6ab2b5d36cdd58d1d5e7.jpg",
                name="IMG_0042.jpg",
                size=184320,
            ),
        ),
        (
            "viber_video",
            "",
            Media(
                "video",
                "https://dl-media.viber.com/5/media/2/short/any/sig/video/0x0/26ce/c1270f.mp4",
                size=10485760,
            ),
        ),
        (
            "viber_file",
            "",
            Media(
                "document",
                "https://dl-media.viber.com/5/media/2/short/any/sig/file/report.pdf",
                name="report.pdf",
                size=10238,
            ),
        ),
        (
            "viber_sticker",
            "",
            Media("sticker", "http://content.cdn.viber.com/stickers/100/40100/00040138.png"),
        ),
        ("viber_location", "", Media("location", "50.76891,6.11499")),
    ],
)
def test_viber_media_kinds(name, text, media):
    message = only(deliver("viber", name))
    assert (message.text, message.media) == (text, (media,))


def test_viber_contact_and_url_become_text_for_the_agent():
    contact = only(deliver("viber", "viber_contact"))
    assert (contact.text, contact.media) == ("Contact: Itamar +972511123123", ())
    link = only(deliver("viber", "viber_url"))
    assert (link.text, link.media) == ("https://status.example.com/incident/42", ())


@pytest.mark.parametrize(
    ("name", "status", "reason"),
    [
        ("viber_delivered", "delivered", ""),
        ("viber_seen", "read", ""),
        ("viber_failed", "failed", "failure description"),
    ],
)
def test_viber_delivery_news(name, status, reason):
    event = name.removeprefix("viber_")
    assert only(deliver("viber", name)) == StatusUpdate(
        event_id=f"viber:4912661846655238145:{event}",
        provider_message_id="4912661846655238145",
        status=status,
        reason=reason,
    )


@pytest.mark.parametrize(
    "name", ["viber_subscribed", "viber_unsubscribed", "viber_conversation_started"]
)
def test_viber_subscription_events_are_ignored(name):
    event = only(deliver("viber", name))
    assert isinstance(event, Ignored)
    assert name.removeprefix("viber_") in event.reason


def test_viber_signature_in_upper_case_hex_is_accepted():
    body = raw("viber_text")
    request = post(body, {"x-viber-content-signature": hex_hmac(VIBER_TOKEN, body).upper()})
    assert only(handle_webhook("viber", SECRETS["viber"], request, NOW)).text


# ------------------------------------------------------------------ Meta handshake


def handshake(channel: str, **query: str) -> WebhookRequest:
    return WebhookRequest(method="GET", headers={}, query=query, body=b"")


@pytest.mark.parametrize("channel", HUB)
def test_meta_subscription_handshake_echoes_the_challenge(channel):
    request = handshake(
        channel,
        **{
            "hub.mode": "subscribe",
            "hub.verify_token": SECRETS[channel].verify_token,
            "hub.challenge": "1158201444",
        },
    )
    result = handle_webhook(channel, SECRETS[channel], request, NOW)
    assert (result.status, result.body, result.events) == (200, "1158201444", ())


@pytest.mark.parametrize("channel", HUB)
@pytest.mark.parametrize(
    ("mode", "token", "problem"),
    [
        ("subscribe", "guess", "hub.verify_token does not match"),
        ("subscribe", "", "hub.verify_token does not match"),
        ("unsubscribe", None, "hub.mode must be 'subscribe'"),
    ],
)
def test_meta_handshake_with_wrong_token_or_mode_is_forbidden(channel, mode, token, problem):
    query = {"hub.mode": mode, "hub.challenge": "1158201444"}
    query["hub.verify_token"] = SECRETS[channel].verify_token if token is None else token
    refused(channel, handshake(channel, **query), Forbidden, problem)


# ------------------------------------------------------------------ WhatsApp


SHEENA = Sender(external_id="16505551234", name="Sheena Nelson", phone="+16505551234")


def test_whatsapp_text_message():
    result = deliver("whatsapp", "whatsapp_text")
    assert (result.status, result.body) == (200, "EVENT_RECEIVED")
    assert only(result) == ChannelMessage(
        event_id="wa:wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
        conversation="16505551234",
        sender=SHEENA,
        text="Does it come in another color?",
        provider_message_id="wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
        sent_at=datetime(2025, 6, 8, 20, 59, 43, tzinfo=UTC),
        extra={"message_type": "text"},
    )


@pytest.mark.parametrize(
    ("name", "text", "media"),
    [
        (
            "whatsapp_image",
            "Black jacket",
            Media("photo", "1003383421387256", content_type="image/jpeg"),
        ),
        (
            "whatsapp_document",
            "Invoice",
            Media(
                "document",
                "1003383421387257",
                name="invoice-1001.pdf",
                content_type="application/pdf",
            ),
        ),
        (
            "whatsapp_voice",
            "",
            Media("voice", "1003383421387258", content_type="audio/ogg; codecs=opus"),
        ),
        ("whatsapp_audio", "", Media("audio", "1003383421387262", content_type="audio/mpeg")),
        (
            "whatsapp_video",
            "It rattles",
            Media("video", "1003383421387259", content_type="video/mp4"),
        ),
        ("whatsapp_sticker", "", Media("sticker", "1003383421387260", content_type="image/webp")),
        (
            "whatsapp_location",
            "Main office, 1 Hacker Way, Menlo Park, CA 94025",
            Media("location", "37.483307,-122.148981"),
        ),
    ],
)
def test_whatsapp_media_kinds(name, text, media):
    message = only(deliver("whatsapp", name))
    assert message.sender == SHEENA
    assert (message.text, message.media) == (text, (media,))


def test_whatsapp_shared_contact_card_is_text():
    message = only(deliver("whatsapp", "whatsapp_contacts"))
    assert message.text == "Contact: Barbara Johnson +19405551234"
    assert message.sender.phone == "+16505551234"  # the card is not the sender's number


def test_whatsapp_button_reply_is_its_title_and_points_at_our_message():
    message = only(deliver("whatsapp", "whatsapp_interactive"))
    assert message.text == "Yes, solved"
    assert message.extra["reply_to"] == "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"


@pytest.mark.parametrize(
    ("name", "kind"), [("whatsapp_reaction", "reaction"), ("whatsapp_unsupported", "unsupported")]
)
def test_whatsapp_reactions_and_unsupported_messages_are_ignored(name, kind):
    event = only(deliver("whatsapp", name))
    assert isinstance(event, Ignored)
    assert f"type {kind}" in event.reason


def test_whatsapp_statuses_report_delivery_read_and_failure():
    sent = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"
    failed = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJEMDlFQkFCMDE1ODg1MEVDRjQA"
    events = deliver("whatsapp", "whatsapp_statuses").events
    assert isinstance(events[0], Ignored)  # "sent": accepted by WhatsApp, no news
    assert events[0].event_id == f"wa:{sent}:sent"
    assert events[1:] == (
        StatusUpdate(event_id=f"wa:{sent}:delivered", provider_message_id=sent, status="delivered"),
        StatusUpdate(event_id=f"wa:{sent}:read", provider_message_id=sent, status="read"),
        StatusUpdate(
            event_id=f"wa:{failed}:failed",
            provider_message_id=failed,
            status="failed",
            reason="131047 Re-engagement message Message failed to send because more than "
            "24 hours have passed since the customer last replied to this number.",
        ),
    )


def test_whatsapp_other_webhook_fields_are_ignored():
    event = only(deliver("whatsapp", "whatsapp_template_status"))
    assert isinstance(event, Ignored)
    assert "message_template_status_update" in event.reason


def test_whatsapp_messages_for_another_number_of_the_app_are_ignored():
    secrets = ChannelSecrets(app_secret=APP_SECRET, account_id="999999999999999")
    body = raw("whatsapp_text")
    event = only(handle_webhook("whatsapp", secrets, signed("whatsapp", body), NOW))
    assert isinstance(event, Ignored)
    assert "106540352242922" in event.reason


# ------------------------------------------------------------------ Facebook Messenger


PSID = "6784513025419032"


def test_facebook_text_message():
    result = deliver("facebook", "facebook_text")
    assert (result.status, result.body) == (200, "EVENT_RECEIVED")
    assert only(result) == ChannelMessage(
        event_id="fb:m_1457764197618:41d102a3e1ae206a38",
        conversation=PSID,
        sender=Sender(external_id=PSID),
        text="hello, world!",
        provider_message_id="m_1457764197618:41d102a3e1ae206a38",
        sent_at=datetime(2025, 11, 27, 9, 0, 5, tzinfo=UTC),
        extra={"quick_reply": "SUPPORT_BILLING"},
    )


def test_facebook_attachments_of_every_kind():
    message = only(deliver("facebook", "facebook_attachments"))
    assert message.media == (
        Media("photo", "https://scontent.xx.fbcdn.net/v/t1.15752-9/photo.jpg"),
        Media("video", "https://video.xx.fbcdn.net/v/t42.3356-2/clip.mp4"),
        Media("audio", "https://cdn.fbsbx.com/v/t59.3654-21/audioclip.mp4"),
        Media("document", "https://cdn.fbsbx.com/v/t59.2708-21/report.pdf"),
        Media("sticker", "https://scontent.xx.fbcdn.net/v/t39.1997-6/sticker.png"),
        Media("other", "https://status.example.com/incident/42", name="Status page"),
    )


def test_facebook_echo_of_our_own_message_is_ignored():
    event = only(deliver("facebook", "facebook_echo"))
    assert isinstance(event, Ignored)
    assert "echo" in event.reason


def test_facebook_delivery_reports_each_message():
    assert deliver("facebook", "facebook_delivery").events == tuple(
        StatusUpdate(event_id=f"fb:{mid}:delivered", provider_message_id=mid, status="delivered")
        for mid in ("mid.1458668856218:ed81099e15d3f4f233", "mid.1458668856218:ed81099e15d3f4f234")
    )


def test_facebook_read_by_watermark_only_is_ignored():
    event = only(deliver("facebook", "facebook_read"))
    assert isinstance(event, Ignored)
    assert "watermark" in event.reason


def test_facebook_message_edit():
    assert only(deliver("facebook", "facebook_message_edit")) == MessageEdited(
        event_id="fb:m_1457764197618:41d102a3e1ae206a38:edit:1",
        conversation=PSID,
        provider_message_id="m_1457764197618:41d102a3e1ae206a38",
        text="hello, world! (edited)",
    )


def test_facebook_postback_is_ignored():
    event = only(deliver("facebook", "facebook_postback"))
    assert isinstance(event, Ignored)
    assert "postback" in event.reason


def test_facebook_channel_ignores_an_instagram_payload_and_other_pages():
    event = only(deliver("facebook", "instagram_text"))
    assert isinstance(event, Ignored)
    assert "'instagram' is not page" in event.reason

    secrets = ChannelSecrets(app_secret=APP_SECRET, account_id="1")
    other = only(handle_webhook("facebook", secrets, signed("facebook", raw("facebook_text")), NOW))
    assert isinstance(other, Ignored)
    assert "104365012315678" in other.reason


# ------------------------------------------------------------------ Instagram


IGSID = "1276523909012233"
IG_MID = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAw"


def test_instagram_message_with_a_shared_reel():
    assert only(deliver("instagram", "instagram_text")) == ChannelMessage(
        event_id=f"ig:{IG_MID}",
        conversation=IGSID,
        sender=Sender(external_id=IGSID),
        text="Is the shop open on Sunday?",
        provider_message_id=IG_MID,
        media=(
            Media(
                "other",
                "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1",
                name="Our Sunday hours",
            ),
        ),
        sent_at=datetime(2025, 11, 27, 9, 0, 10, tzinfo=UTC),
        extra={"reply_to": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjAwMDAx"},
    )


def test_instagram_unsend_deletes_the_message():
    assert only(deliver("instagram", "instagram_unsend")) == MessageDeleted(
        event_id=f"ig:{IG_MID}:deleted", conversation=IGSID, provider_message_id=IG_MID
    )


def test_instagram_seen_names_the_message_read():
    mid = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjAwMDAx"
    assert only(deliver("instagram", "instagram_seen")) == StatusUpdate(
        event_id=f"ig:{mid}:read", provider_message_id=mid, status="read"
    )


def test_instagram_reaction_is_ignored():
    event = only(deliver("instagram", "instagram_reaction"))
    assert isinstance(event, Ignored)
    assert "reaction" in event.reason


# ------------------------------------------------------------------ custom


def custom(payload: dict) -> WebhookResult:
    body = json.dumps(payload).encode()
    return handle_webhook("custom", SECRETS["custom"], signed("custom", body), NOW)


def test_custom_message_with_attachments():
    result = deliver("custom", "custom_message")
    assert (result.status, result.content_type) == (200, "application/json")
    assert json.loads(result.body) == {"ok": True}
    assert only(result) == ChannelMessage(
        event_id="custom:evt_01JD8ZK3",
        conversation="site-chat-42",
        sender=Sender(
            external_id="visitor-42",
            name="Anna Petrova",
            email="anna@example.com",
            phone="+79001234567",
        ),
        text="Where is my order 1001?",
        provider_message_id="evt_01JD8ZK3",
        media=(
            Media(
                "photo",
                "https://files.example.com/u/receipt.png",
                name="receipt.png",
                content_type="image/png",
            ),
            Media(
                "document",
                "https://files.example.com/u/contract.pdf",
                name="contract.pdf",
                content_type="application/pdf",
            ),
        ),
    )


def test_custom_edit_and_delete():
    edit = {"id": "e2", "type": "edit", "conversation": "c1", "message_id": "m1", "text": "fixed"}
    assert only(custom(edit)) == MessageEdited(
        event_id="custom:e2", conversation="c1", provider_message_id="m1", text="fixed"
    )
    delete = {"id": "e3", "type": "delete", "conversation": "c1", "message_id": "m1"}
    assert only(custom(delete)) == MessageDeleted(
        event_id="custom:e3", conversation="c1", provider_message_id="m1"
    )


def test_custom_numeric_ids_mean_the_same_as_strings():
    message = only(custom({"id": 42, "conversation": 7, "sender": {"id": 9}, "text": "hi"}))
    assert (message.event_id, message.conversation, message.sender.external_id) == (
        "custom:42",
        "7",
        "9",
    )


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"conversation": "c", "sender": {"id": "u"}}, "id"),
        ({"id": "e", "sender": {"id": "u"}}, "conversation"),
        ({"id": "e", "conversation": "c", "sender": {"name": "Ann"}}, "sender.id"),
        ({"id": "e", "conversation": "c"}, "sender"),
        ({"id": "e", "conversation": "c", "type": "edit", "text": "x"}, "message_id"),
        ({"id": "e", "conversation": "c", "type": "poke", "sender": {"id": "u"}}, "type"),
        (
            {"id": "e", "conversation": "c", "sender": {"id": "u"}, "attachments": [{"name": "a"}]},
            "attachments.0.url",
        ),
        ({"id": "", "conversation": "c", "sender": {"id": "u"}}, "id"),
    ],
)
def test_custom_body_missing_a_required_field_names_it(payload, field):
    with pytest.raises(InvalidInput) as caught:
        custom(payload)
    assert caught.value.field == field
    assert caught.value.details.startswith(f"{field}: ")


@pytest.mark.parametrize("skew", [timedelta(seconds=-301), timedelta(seconds=301)])
def test_custom_request_outside_the_replay_window_is_forbidden(skew):
    body = raw("custom_message")
    stamp = int((NOW + skew).timestamp())
    request = post(body, auth_headers("custom", body, timestamp=stamp))
    refused("custom", request, Forbidden, "outside the replay window")


def test_custom_request_at_the_edge_of_the_window_is_accepted():
    body = raw("custom_message")
    stamp = int(NOW.timestamp()) - 300
    request = post(body, auth_headers("custom", body, timestamp=stamp))
    assert only(handle_webhook("custom", SECRETS["custom"], request, NOW)).event_id


def test_custom_fresh_timestamp_on_an_old_signature_is_forbidden():
    # A captured request replayed with a new timestamp: the timestamp is signed too.
    body = raw("custom_message")
    headers = auth_headers("custom", body, timestamp=int(NOW.timestamp()) - 3600)
    headers["x-helpdesk-timestamp"] = str(int(NOW.timestamp()))
    refused("custom", post(body, headers), Forbidden, "X-Helpdesk-Signature does not match")


def test_custom_timestamp_must_be_unix_seconds():
    body = raw("custom_message")
    headers = {
        "x-helpdesk-timestamp": "2026-11-27T09:00:00Z",
        "x-helpdesk-signature": sign_custom(CUSTOM_SECRET, "2026-11-27T09:00:00Z", body),
    }
    refused("custom", post(body, headers), Forbidden, "must be unix seconds")


@pytest.mark.parametrize("stamp", ["\udc80", "１７６４２３４０００", "1764234000.5"])
def test_custom_odd_timestamp_header_is_forbidden_not_a_crash(stamp):
    body = raw("custom_message")
    headers = {"x-helpdesk-timestamp": stamp, "x-helpdesk-signature": sign_custom("x", 1, body)}
    refused("custom", post(body, headers), Forbidden, "does not match")


def test_custom_request_without_timestamp_is_unauthorized():
    body = raw("custom_message")
    headers = auth_headers("custom", body)
    del headers["x-helpdesk-timestamp"]
    refused("custom", post(body, headers), Unauthorized, "missing X-Helpdesk-Timestamp")


# ------------------------------------------------------------------ properties

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
bodies = st.binary(max_size=512) | json_values.map(lambda v: json.dumps(v).encode())
forged = st.text(max_size=80) | st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


@settings(max_examples=300, deadline=None)
@given(
    channel=st.sampled_from(["viber", "whatsapp", "custom"]),
    body=bodies,
    signature=forged,
    prefixed=st.booleans(),
)
def test_any_body_with_a_wrong_signature_is_refused(channel, body, signature, prefixed):
    value = f"sha256={signature}" if prefixed else signature
    headers = {**auth_headers(channel, body), AUTH_HEADER[channel].lower(): value}
    correct = auth_headers(channel, body)[AUTH_HEADER[channel].lower()]
    if value.strip().lower() == correct:
        return  # astronomically unlikely, but that one would be right
    with pytest.raises((Unauthorized, Forbidden)):
        handle_webhook(channel, SECRETS[channel], post(body, headers), NOW)


@settings(max_examples=300, deadline=None)
@given(channel=st.sampled_from(["viber", "whatsapp", "facebook", "custom"]), body=bodies)
def test_any_correctly_signed_body_is_accepted_or_invalid_input_never_a_crash(channel, body):
    try:
        result = handle_webhook(channel, SECRETS[channel], signed(channel, body), NOW)
    except InvalidInput as error:
        assert error.details
    else:
        assert result.status == 200
