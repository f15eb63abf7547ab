"""Text -> search tokens (pure). The same normalisation indexes documents and reads queries.

- casefold, ё -> е; words are runs of letters and digits;
- e-mail addresses stay searchable: the whole address, its local part and its domain are
  tokens (besides the words inside them); a phone-like run (+7 (912) 345-67-89) is also one
  token of its digits;
- each word is stemmed by its script: Cyrillic -> Russian Snowball, Latin -> English
  Snowball, anything else (digits, mixed) as is; diacritics are folded after stemming; a
  document also holds each word unstemmed (Snowball stems some names differently by case:
  иванов -> иван but ивановым -> иванов);
- tokens longer than MAX_TOKEN_LENGTH are cut; a document gives at most MAX_DOCUMENT_TOKENS
  distinct tokens (the first ones met).

Query side: `query_words` gives the stems of the query's words; the last word is also a
prefix (the user is still typing) unless the query ends with whitespace.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

MAX_TOKEN_LENGTH = 40
MAX_DOCUMENT_TOKENS = 2000

_WORD = re.compile(r"[^\W_]+")
_EMAIL = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+\.[^\W_]+", re.UNICODE)
_PHONE = re.compile(r"\+?\d[\d\s().-]{5,}\d")
_CYRILLIC = re.compile(r"^[а-я]+$")
_LATIN = re.compile(r"^[a-z\u00c0-\u024f]+$")

_russian = snowballstemmer.stemmer("russian")
_english = snowballstemmer.stemmer("english")


def normalise(text: str) -> str:
    return text.casefold().replace("ё", "е")


def _fold(token: str) -> str:
    decomposed = unicodedata.normalize("NFKD", token)
    # й is a letter of its own in Russian: keep it (its breve is a combining mark)
    decomposed = decomposed.replace("и\u0306", "й")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """One normalised word -> its token."""
    if _CYRILLIC.match(word):
        word = _russian.stemWord(word)
    elif _LATIN.match(word):
        word = _english.stemWord(word)
    return _fold(word)[:MAX_TOKEN_LENGTH]


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def document_tokens(*texts: str) -> set[str]:
    """Distinct tokens of a document (at most MAX_DOCUMENT_TOKENS)."""
    found: dict[str, None] = {}

    def add(token: str) -> bool:
        token = token[:MAX_TOKEN_LENGTH]
        if token:
            found.setdefault(token, None)
        return len(found) < MAX_DOCUMENT_TOKENS

    for raw in texts:
        text = normalise(raw)
        for address in _EMAIL.findall(text):
            local, _, domain = address.partition("@")
            for token in (address, local, domain):
                if not add(token):
                    return set(found)
        for phone in _PHONE.findall(text):
            digits = re.sub(r"\D", "", phone)
            if len(digits) >= 7 and not add(digits):
                return set(found)
        for word in _words(text):
            # the word as written too: stems of one name differ by case (иванов -> иван,
            # ивановым -> иванов), and the whole word serves prefixes typed past the stem
            if not add(stem(word)) or not add(_fold(word)):
                return set(found)
    return set(found)


@dataclass(frozen=True)
class Query:
    """`exact`: the words every match must have, each as its alternative tokens (its stem and,
    when different, the word unstemmed: a document holds both forms of its words).
    `prefix`: the start of the last word as typed (normalised; where the stem departs from
    the word, up to there), matched as a prefix of a token, or None."""

    exact: tuple[tuple[str, ...], ...]
    prefix: str | None

    @property
    def empty(self) -> bool:
        return not self.exact and not self.prefix


def query_words(text: str) -> Query:
    normalised = normalise(text)
    tokens: list[tuple[str, ...]] = []
    for address in _EMAIL.findall(normalised):
        tokens.append((address[:MAX_TOKEN_LENGTH],))
        normalised = normalised.replace(address, " ")
    for phone in _PHONE.findall(normalised):
        digits = re.sub(r"\D", "", phone)
        if len(digits) >= 7:
            tokens.append((digits,))
            normalised = normalised.replace(phone, " ")
    words = _words(normalised)
    prefix: str | None = None
    if words and not text[-1:].isspace() and not tokens:
        last = words.pop()
        # the stem may differ from the word's start (happy -> happi): their common start
        typed, stemmed = _fold(last)[:MAX_TOKEN_LENGTH], stem(last)
        common = 0
        while common < min(len(typed), len(stemmed)) and typed[common] == stemmed[common]:
            common += 1
        prefix = typed[:common] or typed
    tokens += [tuple(dict.fromkeys((stem(word), _fold(word)[:MAX_TOKEN_LENGTH])))
               for word in words]
    exact = tuple(dict.fromkeys(token for token in tokens if all(token)))
    return Query(exact=exact, prefix=prefix or None)
