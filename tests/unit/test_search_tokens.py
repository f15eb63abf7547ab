"""The search tokenizer: one normalisation for documents and queries."""

from __future__ import annotations

from helpdesk.search.queries import matches
from helpdesk.search.tokens import (
    MAX_DOCUMENT_TOKENS,
    MAX_TOKEN_LENGTH,
    document_tokens,
    query_words,
)


def found(document: str, query: str) -> bool:
    return matches(query_words(query), document_tokens(document))


def test_russian_inflections_find_each_other():
    for written in ("оплата", "Оплата", "оплату", "ОПЛАТОЙ", "оплаты"):
        assert found(f"Вопрос по {written} счёта", "оплатой "), written
        assert found(f"Вопрос по {written} счёта", "оплатой"), written
    assert not found("Вопрос по доставке", "оплатой")


def test_yo_is_e_and_case_does_not_matter():
    assert found("Где мой СЧЁТ?", "счет ")
    assert found("Ёлка", "елки ")
    assert found("ЕЛКА", "ёлке ")


def test_english_stems():
    assert found("Payments are failing", "payment failed ")
    assert found("the printer stopped printing", "printers ")
    assert not found("the printer stopped", "scanner ")


def test_diacritics_are_folded_after_stemming():
    assert found("Café au lait", "cafe ")
    assert found("Cafe", "café ")


def test_e_mail_addresses_whole_local_part_and_domain():
    text = "пишите на Olga.Petrova@Example.RU"
    assert found(text, "olga.petrova@example.ru")
    assert found(text, "olga.petrova ")
    assert found(text, "example.ru ")
    assert found(text, "petrova ")
    assert not found(text, "ivan@example.ru")


def test_phone_numbers_by_their_digits():
    text = "звоните +7 (912) 345-67-89"
    assert found(text, "+79123456789")
    assert found(text, "7 912 345 67 89")
    assert found(text, "79123456789")


def test_the_last_word_is_a_prefix_unless_the_query_ends_with_a_space():
    assert found("Принтер не печатает", "прин")
    assert not found("Принтер не печатает", "прин ")
    assert found("Принтер не печатает", "не печ")
    assert query_words("прин").prefix == "прин" and query_words("прин ").prefix is None
    assert query_words("счёт опл").exact == (("счет",),)
    assert query_words("оплатой опл").exact == (("оплат", "оплатой"),)


def test_all_words_must_match():
    assert found("Принтер не печатает", "принтер печатает ")
    assert not found("Принтер не печатает", "принтер сканирует ")


def test_surnames_stemmed_differently_by_case_still_match():
    assert found("Client Иванов", "ивановым ")
    assert found("Client Иванову", "иванов ")


def test_tokens_are_bounded():
    assert all(len(t) <= MAX_TOKEN_LENGTH for t in document_tokens("x" * 100 + " слово"))
    many = " ".join(f"w{n}" for n in range(MAX_DOCUMENT_TOKENS * 2))
    assert len(document_tokens(many)) == MAX_DOCUMENT_TOKENS
    assert query_words("   ").empty
