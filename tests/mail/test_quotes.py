"""split_reply: new text vs quoted history vs signature, per mail client, en and ru."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.mail.quotes import SplitReply, split_reply

QUOTE = "> Здравствуйте! Принтер в 305 кабинете не печатает.\n> Иван\n"


def check(text: str, new: str, quoted_starts: str, signature: str = "") -> SplitReply:
    result = split_reply(text)
    assert result.new_text == new
    assert result.quoted.startswith(quoted_starts), result.quoted
    assert result.signature == signature
    return result


# --- Gmail ---------------------------------------------------------------------------------


def test_gmail_english() -> None:
    text = (
        "Thanks, it works now.\n\n"
        "On Fri, Nov 20, 2026 at 10:00 AM Ivan Petrov <ivan@example.com> wrote:\n\n"
        "> The printer is broken.\n> \n> Ivan\n"
    )
    result = check(text, "Thanks, it works now.", "On Fri, Nov 20, 2026 at 10:00 AM")
    assert result.quoted.endswith("> Ivan")


def test_gmail_english_attribution_wrapped_onto_two_lines() -> None:
    text = (
        "Thanks, it works now.\n\n"
        "On Fri, Nov 20, 2026 at 10:00 AM Ivan Petrov with a long name <ivan.petrov@example.com>\n"
        "wrote:\n\n> The printer is broken.\n"
    )
    check(text, "Thanks, it works now.", "On Fri, Nov 20, 2026 at 10:00 AM Ivan Petrov")


def test_gmail_wrapped_inside_the_address() -> None:
    text = (
        "Спасибо!\n\nпт, 20 нояб. 2026 г. в 10:00, Иван Петров Сергеевич <\n"
        "ivan.petrov@example.ru>:\n\n" + QUOTE
    )
    check(text, "Спасибо!", "пт, 20 нояб. 2026 г. в 10:00")


def test_gmail_russian_weekday_form() -> None:
    text = (
        "Добрый день!\nПроверили, всё работает.\n\n"
        "пт, 20 нояб. 2026 г. в 10:00, Иван Петров <ivan@example.ru>:\n\n" + QUOTE
    )
    result = check(text, "Добрый день!\nПроверили, всё работает.", "пт, 20 нояб. 2026 г.")
    assert result.quoted.endswith("> Иван")


def test_gmail_russian_user_wrote_form() -> None:
    text = (
        "Заявка закрыта.\n\n"
        "20 ноября 2026 г., 10:00 пользователь Иван <ivan@example.ru> написал:\n" + QUOTE
    )
    check(text, "Заявка закрыта.", "20 ноября 2026 г., 10:00 пользователь")


# --- Outlook -----------------------------------------------------------------------------


def test_outlook_original_message_english() -> None:
    text = (
        "Please see my answer below.\n\n"
        "-----Original Message-----\n"
        "From: Ivan Petrov [mailto:ivan@example.com]\n"
        "Sent: Friday, November 20, 2026 10:00 AM\n"
        "To: Support <support@help.example>\n"
        "Subject: Printer\n\n"
        "The printer is broken.\n"
    )
    result = check(text, "Please see my answer below.", "-----Original Message-----")
    assert result.quoted.endswith("The printer is broken.")


def test_outlook_original_message_russian() -> None:
    text = (
        "Перезагрузили, работает.\n\n"
        "-----Исходное сообщение-----\n"
        "От: Иван Петров [mailto:ivan@example.ru]\n"
        "Отправлено: 20 ноября 2026 г. 10:00\n"
        "Кому: support@help.example\n"
        "Тема: Принтер\n\n"
        "Принтер не печатает.\n"
    )
    check(text, "Перезагрузили, работает.", "-----Исходное сообщение-----")


def test_outlook_header_block_under_a_rule_english() -> None:
    text = (
        "Done, thank you.\n\n"
        "________________________________\n"
        "From: Ivan Petrov <ivan@example.com>\n"
        "Sent: Friday, November 20, 2026 10:00 AM\n"
        "To: Support <support@help.example>\n"
        "Subject: RE: Printer\n\n"
        "The printer is broken.\n"
    )
    check(text, "Done, thank you.", "________________________________\nFrom: Ivan Petrov")


def test_outlook_header_block_russian_without_address() -> None:
    text = (
        "Готово.\n"
        "________________________________\n"
        "От: Иван Петров\n"
        "Отправлено: 20 ноября 2026 г. 10:00\n"
        "Кому: Служба поддержки\n"
        "Тема: RE: Принтер\n\n"
        "Принтер не печатает.\n"
    )
    check(text, "Готово.", "________________________________\nОт: Иван Петров")


def test_outlook_bold_headers_from_html() -> None:
    text = (
        "Ok.\n\n*From:* Ivan Petrov <ivan@example.com>\n*Sent:* Friday, November 20, 2026\n"
        "*To:* Support\n*Subject:* Printer\n\nBroken.\n"
    )
    check(text, "Ok.", "*From:* Ivan Petrov")


def test_outlook_block_with_cc_and_subject_last() -> None:
    text = (
        "Ok.\n\nОт: Иван Петров\nОтправлено: 20 ноября 2026 г. 10:00\nКому: Поддержка\n"
        "Копия: Бухгалтерия\nТема: Принтер\n\nНе печатает.\n"
    )
    check(text, "Ok.", "От: Иван Петров")


def test_outlook_mobile_signature_above_the_block() -> None:
    text = (
        "Will check tomorrow.\n\nGet Outlook for iOS<https://aka.ms/o0ukef>\n"
        "________________________________\n"
        "From: Ivan <ivan@example.com>\nSent: Friday, November 20, 2026 10:00 AM\n"
        "To: Support\nSubject: Printer\n\nBroken.\n"
    )
    check(text, "Will check tomorrow.", "______", "Get Outlook for iOS<https://aka.ms/o0ukef>")


# --- Apple Mail, Thunderbird ---------------------------------------------------------------


def test_apple_mail() -> None:
    text = (
        "Yes, that was it.\n\nSent from my iPhone\n\n"
        "On 20 Nov 2026, at 10:00, Ivan <ivan@example.com> wrote:\n\n"
        "> Is it plugged in?\n"
    )
    check(text, "Yes, that was it.", "On 20 Nov 2026, at 10:00, Ivan", "Sent from my iPhone")


def test_apple_mail_russian_forward() -> None:
    text = (
        "Пересылаю.\n\nНачало переадресованного сообщения:\n\n"
        "От: Иван <ivan@example.ru>\nТема: Принтер\nДата: 20 ноября 2026 г., 10:00:00 GMT+3\n"
        "Кому: support@help.example\n\nНе печатает.\n"
    )
    check(text, "Пересылаю.", "Начало переадресованного сообщения:")


def test_thunderbird_english() -> None:
    text = "Fixed in 2.4.1.\n\nOn 20.11.2026 10:00, Ivan wrote:\n> It crashes.\n"
    check(text, "Fixed in 2.4.1.", "On 20.11.2026 10:00, Ivan wrote:")


def test_thunderbird_russian() -> None:
    text = "Исправлено.\n\n20.11.2026 10:00, Иван пишет:\n> Падает при запуске.\n"
    check(text, "Исправлено.", "20.11.2026 10:00, Иван пишет:")


def test_thunderbird_signature_below_the_quote() -> None:
    text = "Исправлено.\n\n20.11.2026 10:00, Иван пишет:\n> Падает.\n\n-- \nПоддержка\n"
    result = check(text, "Исправлено.", "20.11.2026 10:00, Иван пишет:", "-- \nПоддержка")
    assert result.quoted.endswith("> Падает.")


# --- Yandex, Mail.ru ---------------------------------------------------------------------


def test_yandex_numeric_date() -> None:
    text = 'Спасибо, получил.\n\n20.11.2026, 10:00, "Иван" <ivan@yandex.ru>:\n' + QUOTE
    check(text, "Спасибо, получил.", '20.11.2026, 10:00, "Иван"')


def test_yandex_month_name() -> None:
    text = "Спасибо, получил.\n\n20 ноября 2026, 10:00 от Иван <ivan@yandex.ru>:\n" + QUOTE
    check(text, "Спасибо, получил.", "20 ноября 2026, 10:00 от Иван")


def test_yandex_history_without_quote_marks() -> None:
    # Html-to-text of a Yandex blockquote loses the ">": everything below the header is history.
    text = (
        "Принято.\n\n20 ноября 2026, 10:00 от Иван <ivan@yandex.ru>:\n"
        "Здравствуйте!\nПринтер не печатает.\n"
    )
    result = check(text, "Принято.", "20 ноября 2026, 10:00 от Иван")
    assert result.quoted.endswith("Принтер не печатает.")


def test_mailru_with_mobile_signature() -> None:
    text = (
        "Всё заработало, спасибо!\n\n--\nОтправлено из мобильной Почты Mail.ru\n\n"
        "Пятница, 20 ноября 2026, 10:00 +03:00 от Иван Петров <ivan@mail.ru>:\n\n" + QUOTE
    )
    check(
        text, "Всё заработало, спасибо!", "Пятница, 20 ноября 2026, 10:00 +03:00",
        "--\nОтправлено из мобильной Почты Mail.ru",
    )


def test_mailru_forward_with_a_comment() -> None:
    text = (
        "Коллеги, посмотрите, пожалуйста.\n\n"
        "-------- Пересылаемое сообщение --------\n"
        "20.11.2026, 10:00, Иван Петров <ivan@mail.ru>:\n\nПринтер не печатает.\n"
        "-------- Конец пересылаемого сообщения --------\n"
    )
    check(text, "Коллеги, посмотрите, пожалуйста.", "-------- Пересылаемое сообщение --------")


def test_pure_forward_is_all_new_text() -> None:
    text = (
        "\n-------- Пересылаемое сообщение --------\n"
        "От кого: Иван <ivan@mail.ru>\nКому: support@help.example\nДата: Пятница, 20 ноября 2026\n"
        "Тема: Принтер\n\nПринтер не печатает.\n"
    )
    result = split_reply(text)
    assert result == SplitReply(text.strip(), "", "")


def test_gmail_forward_is_all_new_text() -> None:
    text = (
        "---------- Forwarded message ---------\nFrom: Ivan <ivan@example.com>\n"
        "Date: Fri, Nov 20, 2026 at 10:00 AM\nSubject: Printer\nTo: <support@help.example>\n\n"
        "Broken.\n"
    )
    assert split_reply(text) == SplitReply(text.strip(), "", "")


@pytest.mark.parametrize("header", [
    "Вы писали 20 ноября 2026 г., 10:00:",  # The Bat!
    "Иван Петров <ivan@mail.ru> пишет:",
    "20.11.2026 10:00, Иван Петров Пишет:",
    "Пятница, 20 ноября 2026, 10:00 +03:00, Иван <ivan@mail.ru> написал(а):",
    "Ivan Petrov <ivan@example.com> wrote:",
])
def test_writes_forms(header: str) -> None:
    check(f"Ответ.\n\n{header}\n{QUOTE}", "Ответ.", header)


@pytest.mark.parametrize("header", [
    "Am Fr., 20. Nov. 2026 um 10:00 Uhr schrieb Ivan Petrov <ivan@example.de>:",
    "Le ven. 20 nov. 2026 à 10:00, Ivan Petrov <ivan@example.fr> a écrit :",
    "Il giorno ven 20 nov 2026 alle ore 10:00 Ivan Petrov <ivan@example.it> ha scritto:",
])
def test_other_languages_from_the_library(header: str) -> None:
    check(f"Danke.\n\n{header}\n\n> Kaputt.\n", "Danke.", header)


# --- plain quotes, inline answers --------------------------------------------------------


def test_plain_quote_block_without_header() -> None:
    text = "Да, в 305.\n\n> В каком кабинете?\n> \n>> Принтер не печатает.\n> > Иван\n"
    result = check(text, "Да, в 305.", "> В каком кабинете?")
    assert result.quoted.endswith("> > Иван")


def test_nested_quotes_under_a_header() -> None:
    text = (
        "Closing the ticket.\n\nOn Fri, Nov 20, 2026 at 10:00 AM Ivan <ivan@example.com> wrote:\n"
        "> Thanks!\n>\n> On Thu, Nov 19, 2026 at 9:00 AM Support <support@help.example> wrote:\n"
        ">> Try again.\n>>> It is broken.\n"
    )
    result = check(text, "Closing the ticket.", "On Fri, Nov 20")
    assert result.quoted.endswith(">>> It is broken.")


def test_signature_above_a_plain_quote() -> None:
    text = "Yes.\n-- \nSupport team\n\n> Is it fixed?\n"
    check(text, "Yes.", "> Is it fixed?", "-- \nSupport team")


def test_inline_answers_keep_everything() -> None:
    text = (
        "On Fri, Nov 20, 2026 at 10:00 AM Ivan <ivan@example.com> wrote:\n"
        "> Which room?\n305.\n\n> Which printer?\nHP LaserJet.\n"
    )
    assert split_reply(text) == SplitReply(text.rstrip(), "", "")


def test_inline_answers_without_header() -> None:
    text = "Здравствуйте!\n\n> Какой кабинет?\n305.\n> Какой принтер?\nHP.\n\n-- \nИван\n"
    assert split_reply(text) == SplitReply(
        "Здравствуйте!\n\n> Какой кабинет?\n305.\n> Какой принтер?\nHP.", "", "-- \nИван",
    )


def test_bottom_posting_keeps_the_answer() -> None:
    text = "> Is it fixed?\n\nYes, since yesterday.\n"
    assert split_reply(text).new_text == text.rstrip()


def test_everything_quoted_is_all_new_text() -> None:
    text = "> Just a quote\n> nothing else\n"
    assert split_reply(text) == SplitReply(text.rstrip(), "", "")


# --- prose must not be cut ---------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "As Ivan wrote: the printer is broken.\nPlease help.",
    "Как Иван писал выше, От: бухгалтерии пришло письмо.\nПомогите.",
    "On the other hand, as I wrote:\nthe printer is still broken.",
    "Here is what the customer wrote:\nthe printer is broken.",
    "От: бухгалтерии пришло письмо без темы\nЧто делать?",
    "From: my home office I cannot print.\nTo: be honest it never worked.",
    "20 users had the same problem, and Ivan wrote:\nit is the driver.",
    "Письмо от ivan@example.ru:\nпринтер не печатает.",
    "Call me at 10:00 or write to ivan@example.com:\nthanks.",
    "Book me a ticket:\nFrom: Moscow\nTo: Kazan\nDate: 21.11.2026\nThanks!",
    "Маршрут:\nОт: Москва\nКому: Иванову\nДата: 21.11.2026\nСпасибо!",
    "В 2025 году я уже писал:\nпринтер не печатает.",
])
def test_prose_is_not_cut(text: str) -> None:
    assert split_reply(text) == SplitReply(text, "", "")


# --- signatures ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "new", "signature"), [
    ("Hello.\n\n-- \nIvan Petrov\nAcme Inc.\n+7 495 000-00-00\n", "Hello.",
     "-- \nIvan Petrov\nAcme Inc.\n+7 495 000-00-00"),
    ("Hello.\n\nSent from my iPhone\n", "Hello.", "Sent from my iPhone"),
    ("Привет.\n\nОтправлено с iPhone", "Привет.", "Отправлено с iPhone"),
    ("Привет.\nОтправлено из мобильной Почты Mail.ru\n", "Привет.",
     "Отправлено из мобильной Почты Mail.ru"),
    ("Привет.\n\n-- \nОтправлено из мобильной Яндекс Почты", "Привет.",
     "-- \nОтправлено из мобильной Яндекс Почты"),
])
def test_signatures(text: str, new: str, signature: str) -> None:
    assert split_reply(text) == SplitReply(new, "", signature)


@pytest.mark.parametrize("text", [
    "Hello.\n\nBest regards,\nIvan",  # a closing formula is text, not a reliable signature
    "Plan:\n--\n" + "\n".join(f"step {n}" for n in range(20)),  # a bare "--" before long text
    "Отправлено с опозданием, извините.\nВот отчёт за месяц, проверьте, пожалуйста, цифры.",
])
def test_no_signature(text: str) -> None:
    assert split_reply(text) == SplitReply(text, "", "")


def test_only_a_signature_above_the_history_is_the_new_text() -> None:
    text = "Sent from my iPhone\n\nOn 20 Nov 2026, at 10:00, Ivan <ivan@example.com> wrote:\n> Hi\n"
    result = split_reply(text)
    assert result.new_text == "Sent from my iPhone"
    assert result.quoted.startswith("On 20 Nov 2026")


# --- input shapes ------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\n\n"])
def test_empty(text: str) -> None:
    assert split_reply(text) == SplitReply("", "", "")


def test_crlf_and_surrounding_blank_lines() -> None:
    text = "\r\n\r\nOk.  \r\n\r\nOn 20.11.2026 10:00, Ivan wrote:\r\n> Hi\r\n"
    assert split_reply(text) == SplitReply("Ok.", "On 20.11.2026 10:00, Ivan wrote:\n> Hi", "")


def test_not_a_string_does_not_raise() -> None:
    assert split_reply(None) == SplitReply("", "", "")  # type: ignore[arg-type]


# --- big and adversarial inputs: must finish and be right (pytest-timeout guards time) ----

MEGABYTE = 1_000_000


def test_big_history_is_split() -> None:
    history = "> " + "x" * 70 + "\n"
    text = (
        "Short answer.\n\nOn Fri, Nov 20, 2026 at 10:00 AM Ivan <ivan@example.com> wrote:\n"
        + history * (MEGABYTE // len(history))
    )
    result = split_reply(text)
    assert result.new_text == "Short answer."
    assert len(result.quoted) > MEGABYTE - 100


@pytest.mark.parametrize("unit", [
    "On ",  # the library's own regex needs seconds for a few KB of this
    "On 20.11.2026 10:00 On ",
    "Am schrieb 2026 ",
    "a@b.c a@",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "От: ",
    "пт, 20 нояб. 2026 г. в 10:00, ",
])
def test_adversarial_single_line(unit: str) -> None:
    text = unit * (MEGABYTE // len(unit)) + ":"
    assert split_reply(text) == SplitReply(text, "", "")


@pytest.mark.parametrize("line", [
    "a:",
    "1:",
    "On 20.11.2026 10:00 x" + " On" * 90 + ":",
    "Am 20.11.2026 " + "Am schrieb " * 25 + ":",
    "2026年1月1日(月) 1:00 " + "<" * 250 + ":",
    "From: x",
    "От: Иван <ivan@example.ru>",
    "--",
    "> q\nanswer",
    " ",
])
def test_adversarial_many_lines(line: str) -> None:
    text = "\n".join([line] * (MEGABYTE // (len(line) + 1)))
    result = split_reply(text)
    assert bool(result.new_text) == bool(text.strip())
    assert _nonblank_lines(result) == _nonblank_lines(SplitReply(text, "", ""))


# --- properties ----------------------------------------------------------------------------


def _nonblank_lines(result: SplitReply) -> list[str]:
    text = "\n".join((result.new_text, result.quoted, result.signature))
    return sorted(line.strip() for line in text.split("\n") if line.strip())


_LINES = st.sampled_from([
    "Hello", "> quoted", ">> deeper", "", "-- ", "--", "Sent from my iPhone",
    "On Fri, Nov 20, 2026 at 10:00 AM Ivan <ivan@example.com> wrote:",
    "20.11.2026 10:00, Иван пишет:", "-----Original Message-----", "From: Ivan <i@example.com>",
    "Sent: Friday", "To: Support", "Subject: Hi", "________________________________",
    "Отправлено с iPhone", "wrote:", "Ivan <ivan@example.com>",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINES, max_size=25) | st.text(max_size=300))
def test_never_raises_and_never_loses_text(parts: list[str] | str) -> None:
    text = parts if isinstance(parts, str) else "\n".join(parts)
    result = split_reply(text)
    normal = text.replace("\r\n", "\n").replace("\r", "\n")
    assert bool(result.new_text) == bool(normal.strip())
    assert result.new_text == result.new_text.rstrip()
    # every non-blank line lands in exactly one of the three parts
    assert _nonblank_lines(result) == _nonblank_lines(SplitReply(normal, "", ""))
