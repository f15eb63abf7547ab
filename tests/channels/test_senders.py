"""Outbound provider clients against fake provider servers on 127.0.0.1: the exact request
each provider would see, the message id it answers, and how failures are classified."""

from __future__ import annotations

import json
import logging
import socket
import traceback
from collections.abc import Iterator

import pytest
import urllib3

from helpdesk.channels.events import ChannelSecrets
from helpdesk.channels.send import (
    DEFAULT_MAX_DOWNLOAD,
    DownloadedFile,
    Http,
    PinnedPools,
    ProviderClient,
    client_for,
)
from helpdesk.channels.send.vk import random_id
from helpdesk.delivery import PermanentFailure, TemporaryFailure
from helpdesk.ssrf import AllowList
from tests.fakes.providers import VK_OWNER_ID, FakeProviders, UploadedFile
from tests.support.timeouts import NETWORK_TIMEOUT
from tests.webhooks_out.conftest import FakeDns

TG_TOKEN = "123456:TG-SECRET-bot-token"
VK_TOKEN = "vk1.a.SECRET-vk-community-token"
WA_TOKEN = "EAAG-SECRET-whatsapp-token"
WA_PHONE = "106540352242922"
VIBER_TOKEN = "4fdbb2493ae7ddc2-SECRET-viber"
PAGE_TOKEN = "EAAB-SECRET-page-token"

SECRETS = {
    "telegram": ChannelSecrets(token=TG_TOKEN, webhook_secret="tg-webhook-secret"),
    "vk": ChannelSecrets(token=VK_TOKEN, account_id="229000000", confirmation="a1b2c3d4"),
    "whatsapp": ChannelSecrets(token=WA_TOKEN, account_id=WA_PHONE, app_secret="wa-app-secret"),
    "viber": ChannelSecrets(token=VIBER_TOKEN),
    "facebook": ChannelSecrets(token=PAGE_TOKEN, app_secret="fb-app-secret"),
    "instagram": ChannelSecrets(token=PAGE_TOKEN, app_secret="ig-app-secret"),
}
CONVERSATION = {
    "telegram": "4242",
    "vk": "2000000001",
    "whatsapp": "15551234567",
    "viber": "01234567890A=",
    "facebook": "6789012345",
    "instagram": "1784140000",
}
PROVIDERS = list(SECRETS)
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 4
# The read timeout of the timeout tests only: the fake holds its answer until released, so it
# expires for certain; short so that those tests stay quick.
TIMEOUT_UNDER_TEST = 0.5


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as server:
        yield server


# The fake listens on 127.0.0.1, which the SSRF guard refuses unless allow-listed (on a stack:
# WEBHOOK_ALLOW_HOSTS=127.0.0.1, the list the helpdesk hands to its clients).
FAKE_ALLOWED = AllowList.parse("127.0.0.1")


def transport(*, timeout: urllib3.Timeout | None = None, max_download: int = DEFAULT_MAX_DOWNLOAD,
              pools: PinnedPools | None = None) -> Http:
    """Pools of its own, the fake allowed; by default timeouts that a loaded machine never
    reaches (the fake answers at once)."""
    return Http(timeout=timeout or urllib3.Timeout(connect=NETWORK_TIMEOUT, read=NETWORK_TIMEOUT),
                max_download=max_download, allow=FAKE_ALLOWED, pools=pools or PinnedPools())


@pytest.fixture
def http() -> Http:
    return transport()


def client(fake: FakeProviders, http: Http, provider: str, **options: str) -> ProviderClient:
    return client_for(provider, SECRETS[provider], fake.url, http=http, **options)


def assert_no_secret(exc: BaseException, provider: str) -> None:
    text = "".join(traceback.format_exception(exc))
    assert SECRETS[provider].token not in text
    assert SECRETS[provider].token.replace(":", "%3A") not in text


# -- Telegram -----------------------------------------------------------------------------------
def test_telegram_send_text(fake: FakeProviders, http: Http) -> None:
    message_id = client(fake, http, "telegram").send_text("4242", "Hello, Ann")

    [request] = fake.requests
    assert (request.method, request.path) == ("POST", f"/bot{TG_TOKEN}/sendMessage")
    assert request.headers["content-type"] == "application/json"
    assert request.json == {"chat_id": "4242", "text": "Hello, Ann"}
    assert message_id == str(json.loads(request.response)["result"]["message_id"]) == "1"


def test_telegram_send_file(fake: FakeProviders, http: Http) -> None:
    message_id = client(fake, http, "telegram").send_file(
        "4242", "invoice.pdf", PDF, "application/pdf", caption="Your invoice"
    )

    [request] = fake.requests
    assert (request.method, request.path) == ("POST", f"/bot{TG_TOKEN}/sendDocument")
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert request.form == {"chat_id": "4242", "caption": "Your invoice"}
    assert request.files == {"document": UploadedFile("invoice.pdf", "application/pdf", PDF)}
    assert message_id == str(json.loads(request.response)["result"]["message_id"])


def test_telegram_download(fake: FakeProviders, http: Http) -> None:
    fake.add_file("BQACAgIAAxkBAAIB", PDF, "application/pdf", name="scan.pdf")

    downloaded = client(fake, http, "telegram").download("BQACAgIAAxkBAAIB")

    get_file, fetch = fake.requests
    assert (get_file.path, get_file.json) == (
        f"/bot{TG_TOKEN}/getFile",
        {"file_id": "BQACAgIAAxkBAAIB"},
    )
    assert (fetch.method, fetch.path) == ("GET", f"/file/bot{TG_TOKEN}/documents/scan.pdf")
    # The file server says octet-stream; the type comes from the file path.
    assert downloaded == DownloadedFile(PDF, "application/pdf", "scan.pdf")


def test_telegram_blocked_bot_is_permanent(fake: FakeProviders, http: Http) -> None:
    fake.fail_next(
        1,
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    )

    with pytest.raises(PermanentFailure) as caught:
        client(fake, http, "telegram").send_text("4242", "Hello")

    assert str(caught.value) == "telegram: HTTP 403: Forbidden: bot was blocked by the user"
    assert_no_secret(caught.value, "telegram")


def test_telegram_flood_wait_is_temporary(fake: FakeProviders, http: Http) -> None:
    fake.fail_next(
        1,
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        },
    )

    with pytest.raises(TemporaryFailure, match=r"telegram: HTTP 429: .*retry after 7 s"):
        client(fake, http, "telegram").send_text("4242", "Hello")


def test_provider_text_echoing_the_token_is_scrubbed(fake: FakeProviders, http: Http) -> None:
    fake.fail_next(
        1, 400, {"ok": False, "error_code": 400, "description": f"Bad Request: wrong bot{TG_TOKEN}"}
    )

    with pytest.raises(PermanentFailure, match=r"wrong bot\*\*\*") as caught:
        client(fake, http, "telegram").send_text("4242", "Hello")

    assert_no_secret(caught.value, "telegram")


def test_telegram_refuses_a_file_over_the_limit_before_fetching(fake: FakeProviders) -> None:
    fake.add_file("big", b"x" * 2048, name="big.bin")
    small = transport(max_download=1024)

    with pytest.raises(PermanentFailure, match="telegram: file too large"):
        client(fake, small, "telegram").download("big")

    assert [request.path for request in fake.requests] == [f"/bot{TG_TOKEN}/getFile"]


# -- VK -----------------------------------------------------------------------------------------
def test_vk_send_text_is_idempotent_by_key(fake: FakeProviders, http: Http) -> None:
    vk = client(fake, http, "vk")

    first = vk.send_text("2000000001", "Hello", idempotency_key="post-17")
    again = vk.send_text("2000000001", "Hello", idempotency_key="post-17")

    request = fake.requests[0]
    assert (request.method, request.path) == ("POST", "/method/messages.send")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form == {
        "peer_id": "2000000001",
        "message": "Hello",
        "random_id": str(random_id("post-17")),
        "access_token": VK_TOKEN,
        "v": "5.199",
    }
    assert first == again == str(json.loads(request.response)["response"])


def test_vk_random_id_without_a_key_differs_per_send(fake: FakeProviders, http: Http) -> None:
    vk = client(fake, http, "vk")

    first, second = vk.send_text("7", "a"), vk.send_text("7", "a")

    assert first != second
    assert fake.requests[0].form["random_id"] != fake.requests[1].form["random_id"]
    assert random_id("post-1") == random_id("post-1") != random_id("post-2")
    assert all(0 < random_id(f"k{n}") < 2**31 for n in range(100))


def test_vk_send_file(fake: FakeProviders, http: Http) -> None:
    message_id = client(fake, http, "vk").send_file(
        "2000000001",
        "invoice.pdf",
        PDF,
        "application/pdf",
        caption="Your invoice",
        idempotency_key="post-18",
    )

    server, upload, save, send = fake.requests
    assert (server.path, server.form) == (
        "/method/docs.getMessagesUploadServer",
        {"type": "doc", "peer_id": "2000000001", "access_token": VK_TOKEN, "v": "5.199"},
    )
    assert (upload.method, upload.path, upload.query) == (
        "POST",
        "/vk-upload/doc",
        {"peer_id": "2000000001"},
    )
    assert upload.files == {"file": UploadedFile("invoice.pdf", "application/pdf", PDF)}
    file_token = json.loads(upload.response)["file"]
    assert (save.path, save.form) == (
        "/method/docs.save",
        {"file": file_token, "title": "invoice.pdf", "access_token": VK_TOKEN, "v": "5.199"},
    )
    doc_id = json.loads(save.response)["response"]["doc"]["id"]
    assert (send.path, send.form) == (
        "/method/messages.send",
        {
            "peer_id": "2000000001",
            "attachment": f"doc{VK_OWNER_ID}_{doc_id}",
            "random_id": str(random_id("post-18")),
            "message": "Your invoice",
            "access_token": VK_TOKEN,
            "v": "5.199",
        },
    )
    assert message_id == str(json.loads(send.response)["response"])


def test_vk_download(fake: FakeProviders, http: Http) -> None:
    url = fake.add_file("/doc123_456", b"hello", "text/plain; charset=utf-8", name="notes.txt")

    downloaded = client(fake, http, "vk").download(url)

    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/doc123_456")]
    assert downloaded == DownloadedFile(b"hello", "text/plain", "notes.txt")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (6, TemporaryFailure),
        (9, TemporaryFailure),
        (10, TemporaryFailure),
        (901, PermanentFailure),
        (5, PermanentFailure),
    ],
)
def test_vk_api_errors(
    fake: FakeProviders, http: Http, code: int, expected: type[Exception]
) -> None:
    fake.fail_next(1, 200, {"error": {"error_code": code, "error_msg": "Something VK said"}})

    with pytest.raises(expected) as caught:
        client(fake, http, "vk").send_text("7", "Hello")

    assert type(caught.value) is expected
    assert str(caught.value) == f"vk: HTTP 200: error {code}: Something VK said"
    assert_no_secret(caught.value, "vk")


def test_vk_upload_server_error_is_permanent(fake: FakeProviders, http: Http) -> None:
    fake.fail_next(
        1, 200, {"error": "ERR_UPLOAD_BAD_FILE", "error_descr": "empty file"}, path="/vk-upload/doc"
    )

    with pytest.raises(PermanentFailure) as caught:
        client(fake, http, "vk").send_file("7", "a.txt", b"", "text/plain")

    assert str(caught.value) == "vk: HTTP 200: upload failed: ERR_UPLOAD_BAD_FILE empty file"
    assert [r.path for r in fake.requests] == [
        "/method/docs.getMessagesUploadServer",
        "/vk-upload/doc",
    ]


# -- WhatsApp -----------------------------------------------------------------------------------
def test_whatsapp_send_text(fake: FakeProviders, http: Http) -> None:
    message_id = client(fake, http, "whatsapp").send_text("15551234567", "Hello")

    [request] = fake.requests
    assert (request.method, request.path) == ("POST", f"/v21.0/{WA_PHONE}/messages")
    assert request.headers["authorization"] == f"Bearer {WA_TOKEN}"
    assert request.query == {}
    assert request.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "15551234567",
        "type": "text",
        "text": {"body": "Hello"},
    }
    assert message_id == json.loads(request.response)["messages"][0]["id"]
    assert message_id.startswith("wamid.")


def test_whatsapp_send_file(fake: FakeProviders, http: Http) -> None:
    message_id = client(fake, http, "whatsapp").send_file(
        "15551234567", "invoice.pdf", PDF, "application/pdf", caption="Your invoice"
    )

    upload, send = fake.requests
    assert (upload.method, upload.path) == ("POST", f"/v21.0/{WA_PHONE}/media")
    assert upload.headers["authorization"] == f"Bearer {WA_TOKEN}"
    assert upload.form == {"messaging_product": "whatsapp", "type": "application/pdf"}
    assert upload.files == {"file": UploadedFile("invoice.pdf", "application/pdf", PDF)}
    media_id = json.loads(upload.response)["id"]
    assert send.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "15551234567",
        "type": "document",
        "document": {"id": media_id, "filename": "invoice.pdf", "caption": "Your invoice"},
    }
    assert message_id == json.loads(send.response)["messages"][0]["id"]


def test_whatsapp_download(fake: FakeProviders, http: Http) -> None:
    fake.add_file("1037543291543636", b"\xff\xd8jpeg", "image/jpeg")

    downloaded = client(fake, http, "whatsapp").download("1037543291543636")

    lookup, fetch = fake.requests
    assert (lookup.method, lookup.path) == ("GET", "/v21.0/1037543291543636")
    assert (fetch.method, fetch.path) == ("GET", "/whatsapp-media/1037543291543636")
    assert (
        lookup.headers["authorization"] == fetch.headers["authorization"] == (f"Bearer {WA_TOKEN}")
    )
    assert downloaded == DownloadedFile(b"\xff\xd8jpeg", "image/jpeg", "1037543291543636.jpg")


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, 131047, PermanentFailure),  # re-engagement: outside the 24-hour window
        (400, 130429, TemporaryFailure),  # throughput limit, though HTTP says 400
        (400, 4, TemporaryFailure),
        (401, 190, PermanentFailure),
    ],
)
def test_whatsapp_graph_errors(
    fake: FakeProviders, http: Http, status: int, code: int, expected: type[Exception]
) -> None:
    fake.fail_next(
        1,
        status,
        {
            "error": {
                "message": "(#x) What Meta said",
                "type": "OAuthException",
                "code": code,
                "fbtrace_id": "AbC",
            }
        },
    )

    with pytest.raises(expected) as caught:
        client(fake, http, "whatsapp").send_text("15551234567", "Hello")

    assert type(caught.value) is expected
    assert str(caught.value) == f"whatsapp: HTTP {status}: error {code}: (#x) What Meta said"


def test_whatsapp_needs_a_phone_number_id() -> None:
    with pytest.raises(PermanentFailure, match="phone_number_id"):
        client_for("whatsapp", ChannelSecrets(token=WA_TOKEN))


# -- Viber --------------------------------------------------------------------------------------
def test_viber_send_text(fake: FakeProviders, http: Http) -> None:
    message_id = client(fake, http, "viber").send_text("01234567890A=", "Hello")

    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/pa/send_message")
    assert request.headers["x-viber-auth-token"] == VIBER_TOKEN
    assert request.json == {
        "receiver": "01234567890A=",
        "type": "text",
        "text": "Hello",
        "sender": {"name": "Support"},
    }
    assert message_id == str(json.loads(request.response)["message_token"])


def test_viber_sender_name_is_configurable(fake: FakeProviders, http: Http) -> None:
    client(fake, http, "viber", sender_name="Acme Help Desk").send_text("u1", "Hi")

    assert fake.requests[0].json["sender"] == {"name": "Acme Help Desk"}


def test_viber_send_file_by_public_url_then_caption(fake: FakeProviders, http: Http) -> None:
    message_id = client(fake, http, "viber").send_file(
        "01234567890A=",
        "invoice.pdf",
        PDF,
        "application/pdf",
        caption="Your invoice",
        public_url="https://files.example.com/a/invoice.pdf",
    )

    file_message, caption = fake.requests
    assert file_message.json == {
        "receiver": "01234567890A=",
        "type": "file",
        "media": "https://files.example.com/a/invoice.pdf",
        "size": len(PDF),
        "file_name": "invoice.pdf",
        "sender": {"name": "Support"},
    }
    assert caption.json == {
        "receiver": "01234567890A=",
        "type": "text",
        "text": "Your invoice",
        "sender": {"name": "Support"},
    }
    assert message_id == str(json.loads(file_message.response)["message_token"])


def test_viber_send_file_without_public_url_is_refused(fake: FakeProviders, http: Http) -> None:
    with pytest.raises(PermanentFailure, match="viber needs a public file URL"):
        client(fake, http, "viber").send_file("u1", "a.pdf", PDF, "application/pdf")

    assert fake.requests == []


def test_viber_download(fake: FakeProviders, http: Http) -> None:
    url = fake.add_file("/viber/media/photo%20one.png", b"\x89PNG", "image/png")

    downloaded = client(fake, http, "viber").download(url)

    assert downloaded == DownloadedFile(b"\x89PNG", "image/png", "photo one.png")


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (5, "receiverNotRegistered", PermanentFailure),
        (6, "receiverNotSubscribed", PermanentFailure),
        (12, "tooManyRequests", TemporaryFailure),
    ],
)
def test_viber_status_errors(
    fake: FakeProviders, http: Http, status: int, message: str, expected: type[Exception]
) -> None:
    fake.fail_next(1, 200, {"status": status, "status_message": message})

    with pytest.raises(expected) as caught:
        client(fake, http, "viber").send_text("u1", "Hello")

    assert type(caught.value) is expected
    assert str(caught.value) == f"viber: HTTP 200: status {status}: {message}"


# -- Facebook / Instagram (Send API) ------------------------------------------------------------
@pytest.mark.parametrize("provider", ["facebook", "instagram"])
def test_messenger_send_text(fake: FakeProviders, http: Http, provider: str) -> None:
    message_id = client(fake, http, provider).send_text("6789012345", "Hello")

    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/v21.0/me/messages")
    assert request.query == {"access_token": PAGE_TOKEN}
    assert "authorization" not in request.headers
    assert request.json == {
        "recipient": {"id": "6789012345"},
        "messaging_type": "RESPONSE",
        "message": {"text": "Hello"},
    }
    assert message_id == json.loads(request.response)["message_id"]
    assert message_id.startswith("m_")


@pytest.mark.parametrize("provider", ["facebook", "instagram"])
def test_messenger_send_file_then_caption(fake: FakeProviders, http: Http, provider: str) -> None:
    message_id = client(fake, http, provider).send_file(
        "6789012345", "invoice.pdf", PDF, "application/pdf", caption="Your invoice"
    )

    upload, caption = fake.requests
    assert (upload.path, upload.query) == ("/v21.0/me/messages", {"access_token": PAGE_TOKEN})
    assert {
        name: json.loads(value) if value.startswith("{") else value
        for name, value in upload.form.items()
    } == {
        "recipient": {"id": "6789012345"},
        "messaging_type": "RESPONSE",
        "message": {"attachment": {"type": "file", "payload": {"is_reusable": False}}},
    }
    assert upload.files == {"filedata": UploadedFile("invoice.pdf", "application/pdf", PDF)}
    assert caption.json == {
        "recipient": {"id": "6789012345"},
        "messaging_type": "RESPONSE",
        "message": {"text": "Your invoice"},
    }
    assert message_id == json.loads(upload.response)["message_id"]


@pytest.mark.parametrize("provider", ["facebook", "instagram"])
def test_messenger_download(fake: FakeProviders, http: Http, provider: str) -> None:
    url = fake.add_file("/v/t1.15/cdn-file", b"data", "application/pdf")

    downloaded = client(fake, http, provider).download(url + "?oh=abc&oe=123")

    [request] = fake.requests
    assert request.query == {"oh": "abc", "oe": "123"}
    assert downloaded == DownloadedFile(b"data", "application/pdf", "cdn-file")


def test_messenger_policy_error_is_permanent(fake: FakeProviders, http: Http) -> None:
    fake.fail_next(
        1,
        400,
        {
            "error": {
                "message": "(#10) This message is sent outside of allowed window.",
                "type": "OAuthException",
                "code": 10,
                "error_subcode": 2018278,
                "fbtrace_id": "A",
            }
        },
    )

    with pytest.raises(PermanentFailure) as caught:
        client(fake, http, "facebook").send_text("6789012345", "Hello")

    assert str(caught.value) == (
        "facebook: HTTP 400: error 10/2018278: (#10) This message is "
        "sent outside of allowed window."
    )
    assert_no_secret(caught.value, "facebook")


def test_graph_is_transient_flag_is_honoured(fake: FakeProviders, http: Http) -> None:
    fake.fail_next(
        1, 400, {"error": {"message": "Please retry", "code": 100, "is_transient": True}}
    )

    with pytest.raises(TemporaryFailure):
        client(fake, http, "instagram").send_text("1784140000", "Hello")


# -- failures common to every provider ----------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_server_errors_are_temporary(
    fake: FakeProviders, http: Http, provider: str, status: int
) -> None:
    fake.fail_next(1, status, "<html>upstream is sad</html>")

    with pytest.raises(TemporaryFailure) as caught:
        client(fake, http, provider).send_text(CONVERSATION[provider], "Hello")

    assert str(caught.value) == f"{provider}: HTTP {status}: <html>upstream is sad</html>"
    assert_no_secret(caught.value, provider)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_forbidden_is_permanent(fake: FakeProviders, http: Http, provider: str) -> None:
    fake.fail_next(1, 403, "Forbidden")

    with pytest.raises(PermanentFailure, match=rf"^{provider}: HTTP 403: Forbidden$") as caught:
        client(fake, http, provider).send_text(CONVERSATION[provider], "Hello")

    assert_no_secret(caught.value, provider)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_timeout_is_temporary(fake: FakeProviders, provider: str) -> None:
    impatient = transport(timeout=urllib3.Timeout(connect=NETWORK_TIMEOUT,
                                                  read=TIMEOUT_UNDER_TEST))
    fake.hold_next(1)  # no answer until the test is over

    with pytest.raises(
        TemporaryFailure,
        match=rf"^{provider}: network error talking to "
        r"127\.0\.0\.1: timed out",
    ) as caught:
        client(fake, impatient, provider).send_text(CONVERSATION[provider], "Hello")

    assert_no_secret(caught.value, provider)
    assert len(fake.requests) == 1  # one attempt: the delivery workflow owns the retries


@pytest.mark.parametrize("provider", PROVIDERS)
def test_connection_refused_is_temporary(http: Http, provider: str) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # closed again before the call: nobody listens

    with pytest.raises(
        TemporaryFailure,
        match=rf"^{provider}: network error talking to "
        r"127\.0\.0\.1: cannot connect",
    ) as caught:
        client_for(provider, SECRETS[provider], f"http://127.0.0.1:{port}", http=http).send_text(
            CONVERSATION[provider], "Hello"
        )

    assert_no_secret(caught.value, provider)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_oversize_download_is_refused(fake: FakeProviders, chunked: bool) -> None:
    url = fake.add_file("/big.bin", b"x" * 200_000, chunked=chunked)
    small = transport(max_download=100_000)

    with pytest.raises(PermanentFailure, match=r"^vk: file too large \(over 100000 bytes\)$"):
        client(fake, small, "vk").download(url)


def test_whatsapp_oversize_media_is_refused_before_fetching(fake: FakeProviders) -> None:
    fake.add_file("555", b"x" * 2048, "video/mp4")
    small = transport(max_download=1024)

    with pytest.raises(PermanentFailure, match="whatsapp: file too large"):
        client(fake, small, "whatsapp").download("555")

    assert [request.path for request in fake.requests] == ["/v21.0/555"]


def test_download_within_the_limit_streams_whole(fake: FakeProviders) -> None:
    url = fake.add_file("/exact.bin", b"y" * 100_000, chunked=True)
    exact = transport(max_download=100_000)

    assert client(fake, exact, "viber").download(url).content == b"y" * 100_000


def test_missing_download_is_permanent(fake: FakeProviders, http: Http) -> None:
    with pytest.raises(PermanentFailure, match=r"^facebook: HTTP 404: not found$"):
        client(fake, http, "facebook").download(fake.url + "/gone.png")


def test_invalid_file_url_is_permanent(fake: FakeProviders, http: Http) -> None:
    with pytest.raises(PermanentFailure, match="viber: invalid URL"):
        client(fake, http, "viber").download("not a url")


def test_connection_is_reusable_after_an_abandoned_download(fake: FakeProviders) -> None:
    url = fake.add_file("/big.bin", b"x" * 200_000)
    small = transport(max_download=1000, pools=PinnedPools(maxsize=1))
    vk = client(fake, small, "vk")
    with pytest.raises(PermanentFailure):
        vk.download(url)

    assert vk.send_text("7", "still fine") == "1"


def test_unknown_channel_type_and_missing_token_are_permanent() -> None:
    with pytest.raises(PermanentFailure, match="no outbound client for channel type 'icq'"):
        client_for("icq", ChannelSecrets(token="x"))
    with pytest.raises(PermanentFailure, match="telegram: the channel has no access token"):
        client_for("telegram", ChannelSecrets())


def test_default_base_urls_are_the_real_ones() -> None:
    bases = {
        provider: client_for(provider, SECRETS[provider])._base  # type: ignore[attr-defined]
        for provider in PROVIDERS
    }
    assert bases == {
        "telegram": "https://api.telegram.org",
        "vk": "https://api.vk.com",
        "whatsapp": "https://graph.facebook.com",
        "viber": "https://chatapi.viber.com",
        "facebook": "https://graph.facebook.com",
        "instagram": "https://graph.facebook.com",
    }


def test_urllib3_debug_log_never_shows_tokens(
    fake: FakeProviders, http: Http, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="urllib3"):
        client(fake, http, "telegram").send_text("4242", "Hello")
        client(fake, http, "facebook").send_text("6789012345", "Hello")

    logged = caplog.text
    assert "/bot***/sendMessage" in logged and "access_token=***" in logged
    assert TG_TOKEN not in logged and PAGE_TOKEN not in logged


# -- the SSRF guard: every request of a client goes to public addresses only ------------------
URL_MEDIA = ["vk", "viber", "facebook", "instagram"]  # inbound media are plain URLs


@pytest.mark.parametrize("provider", URL_MEDIA)
@pytest.mark.parametrize(("url", "kind"), [
    ("http://169.254.169.254/latest/meta-data/iam/", "link-local (cloud metadata)"),
    ("http://10.0.0.1/photo.jpg", "private"),
    ("http://[::1]:8080/photo.jpg", "loopback"),
])
def test_a_media_url_at_an_address_that_is_not_public_is_refused(
        http: Http, provider: str, url: str, kind: str) -> None:
    with pytest.raises(PermanentFailure) as caught:
        client_for(provider, SECRETS[provider], http=http).download(url)

    assert type(caught.value) is PermanentFailure  # never retried
    assert str(caught.value).startswith(f"{provider}: refused to connect: ")
    assert f"a {kind} address" in str(caught.value)


@pytest.mark.parametrize("host", ["0x7f000001", "2130706433", "127.1", "localhost"])
def test_the_fakes_own_address_spelled_otherwise_is_not_fetched(fake: FakeProviders, http: Http,
                                                                host: str) -> None:
    """The allow-list admits 127.0.0.1 as written; these reach the same fake if connected."""
    url = fake.add_file("/secret.txt", b"internal")
    port = url.split(":")[2].split("/")[0]

    with pytest.raises(PermanentFailure, match=r"refused to connect: .*loopback"):
        client(fake, http, "vk").download(f"http://{host}:{port}/secret.txt")

    assert fake.requests == []


def test_a_name_resolving_to_a_private_address_at_fetch_time_is_refused(
        fake: FakeProviders, http: Http, fake_dns: FakeDns) -> None:
    url = fake.add_file("/secret.txt", b"internal")
    fake_dns.answer("cdn.example.com", ["127.0.0.1"])

    with pytest.raises(PermanentFailure) as caught:
        client(fake, http, "viber").download(url.replace("127.0.0.1", "cdn.example.com"))

    assert "cdn.example.com resolves to 127.0.0.1, which is a loopback address" in str(
        caught.value)
    assert fake.requests == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_base_url_that_is_not_public_fails_the_send_for_good(http: Http, provider: str) -> None:
    with pytest.raises(PermanentFailure) as caught:
        client_for(provider, SECRETS[provider], "http://10.0.0.1", http=http).send_text(
            CONVERSATION[provider], "Hello")

    assert str(caught.value) == (f"{provider}: refused to connect: 10.0.0.1 is a private "
                                 "address; only public addresses are reached")
    assert_no_secret(caught.value, provider)


def test_a_redirect_is_followed_only_to_a_public_address(fake: FakeProviders, http: Http) -> None:
    fake.add_file("/real.txt", b"hello", "text/plain")
    fake.fail_next(1, 302, "", headers={"Location": "/real.txt"}, path="/moved.txt")
    vk = client(fake, http, "vk")

    assert vk.download(fake.url + "/moved.txt").content == b"hello"

    metadata = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    fake.fail_next(1, 302, "", headers={"Location": metadata}, path="/moved.txt")
    with pytest.raises(PermanentFailure, match=r"link-local \(cloud metadata\)"):
        vk.download(fake.url + "/moved.txt")
    assert [r.path for r in fake.requests] == ["/moved.txt", "/real.txt", "/moved.txt"]


def test_a_redirect_to_another_host_drops_the_credentials(fake: FakeProviders,
                                                          fake_dns: FakeDns) -> None:
    fake.add_file("/real.txt", b"hello", "text/plain")
    fake_dns.answer("cdn.test", ["127.0.0.1"])
    port = fake.url.rsplit(":", 1)[1]
    fake.fail_next(1, 307, "", headers={"Location": f"http://cdn.test:{port}/real.txt"},
                   path="/moved.txt")
    both = Http(allow=AllowList.parse("127.0.0.1,cdn.test"), pools=PinnedPools())

    answer = both.download(fake.url + "/moved.txt", headers={"Authorization": "Bearer x",
                                                               "X-Viber-Auth-Token": "y"})

    assert answer.body == b"hello"
    moved, real = fake.requests
    assert moved.headers["authorization"] == "Bearer x"
    assert "authorization" not in real.headers and "x-viber-auth-token" not in real.headers


def test_too_many_redirects_is_a_network_error(fake: FakeProviders, http: Http) -> None:
    fake.fail_next(6, 302, "", headers={"Location": "/loop"}, path="/loop")

    with pytest.raises(TemporaryFailure, match="TooManyRedirects"):
        client(fake, http, "vk").download(fake.url + "/loop")

    assert len(fake.requests) == 6  # the first request and five redirects


def test_the_connection_goes_to_the_verified_address(fake: FakeProviders,
                                                     fake_dns: FakeDns) -> None:
    """One lookup per request, by the guard; urllib3 connects to the IP it verified and sends
    the name as Host, so a second DNS answer (rebinding) is never used."""
    fake_dns.answer("provider.test", ["127.0.0.1"], ["10.0.0.1"])
    port = fake.url.rsplit(":", 1)[1]
    http = Http(allow=AllowList.parse("127.0.0.1/32"), pools=PinnedPools())

    client_for("telegram", SECRETS["telegram"], f"http://provider.test:{port}",
               http=http).send_text("4242", "Hello")

    assert fake_dns.asked.count("provider.test") == 1
    assert fake.requests[0].headers["host"] == f"provider.test:{port}"
    # The next request looks the name up again: a private answer now is refused.
    with pytest.raises(PermanentFailure, match=r"resolves to 10\.0\.0\.1, which is a private"):
        client_for("telegram", SECRETS["telegram"], f"http://provider.test:{port}",
                   http=http).send_text("4242", "Hello")
    assert len(fake.requests) == 1


def test_a_name_that_does_not_resolve_is_temporary() -> None:
    def nxdomain(host: str, port: int) -> list[str]:
        raise OSError(-2, "Name or service not known")

    unresolved = Http(resolver=nxdomain, pools=PinnedPools())
    with pytest.raises(TemporaryFailure, match=r"^vk: cannot resolve cdn\.example\.com"):
        client_for("vk", SECRETS["vk"], http=unresolved).download("https://cdn.example.com/a")


def test_a_303_answer_to_a_post_is_followed_by_a_get_without_the_body(fake: FakeProviders,
                                                                      http: Http) -> None:
    fake.add_file("/result.json", b'{"response": 77}', "application/json")
    fake.fail_next(1, 303, "", headers={"Location": "/result.json"}, path="/method/messages.send")

    assert client(fake, http, "vk").send_text("7", "Hello") == "77"

    posted, fetched = fake.requests
    assert (posted.method, fetched.method, fetched.path) == ("POST", "GET", "/result.json")
    assert fetched.body == b"" and "content-type" not in fetched.headers


def test_pools_past_the_limit_are_closed_and_opened_again_when_needed(
        fake: FakeProviders, fake_dns: FakeDns) -> None:
    port = fake.add_file("/f.txt", b"x").rsplit(":", 1)[1].split("/")[0]
    for name in ("a.test", "b.test"):
        fake_dns.answer(name, ["127.0.0.1"])
    http = Http(allow=AllowList.parse("127.0.0.1/32"), pools=PinnedPools(limit=1))

    for name in ("a.test", "b.test", "a.test"):  # b's pool evicts a's, a's comes back
        assert http.download(f"http://{name}:{port}/f.txt").body == b"x"
