"""What callers may send (validated at the edges). Unknown fields are ignored, as the
HelpDeskEddy API does; wrong types are refused with the field's name."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from helpdesk.dates import parse_datetime
from helpdesk.models import Role


def _none_if_blank(value: Any) -> Any:
    return None if value == "" else value


def _email(value: str) -> str:
    """One address as RFC 5321/5322 allow it (email-validator, no DNS): no display name, no
    CR/LF or NUL that would end up in a mail header, no reserved domain; lowercased, as
    contacts are matched."""
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as problem:
        raise ValueError(f"{value[:200]!r} is not an e-mail address: {problem}") from None
    return checked.normalized.lower()


def _as_list(value: Any) -> Any:
    """`cc` may come as a list, a comma-separated string or one value (form posts)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [value]  # one id (3.0 is an integer to JSON Schema; the item check decides)
    return value


FLAG_TEXTS = {"1": True, "true": True, "yes": True, "on": True,
              "0": False, "false": False, "no": False, "off": False, "": False}


def _as_bool(value: Any) -> Any:
    """true/false, 1/0 or (form posts) one of FLAG_TEXTS in any case; nothing else (pydantic
    alone also took "t", "y", "f", "n": more than the OpenAPI document says)."""
    if isinstance(value, str) and value.strip().lower() in FLAG_TEXTS:
        return FLAG_TEXTS[value.strip().lower()]
    if isinstance(value, int) and value in (0, 1):  # also True and False
        return bool(value)
    raise ValueError("expected true or false (1/0, yes/no, on/off in form posts)")


def _as_datetime(value: Any) -> Any:
    if value is None or value == "" or isinstance(value, datetime):
        return value if value != "" else None
    if not isinstance(value, str):
        raise ValueError("expected a date such as '31.12.2026 18:00:00' or ISO-8601")
    return parse_datetime(value)


# Limits that keep every stored item under DynamoDB's 400 KB and every answer sane (issue
# "Hardening"; docs/security.md lists them). Longer texts belong in attachments.
# Sizes are in UTF-8 bytes where a character may take several: 200,000 Cyrillic characters
# are 400 KB. A ticket item at its largest: description 250 KB + custom fields 50 KB + tags
# 40 KB + the rest, under 400 KB.
MAX_KEY_LENGTH = 100
MAX_TEXT = 250_000  # a description or a message, UTF-8 bytes
MAX_FIELDS = 100  # custom fields per record
MAX_FIELD_VALUE = 10_000  # one custom field's value, as JSON characters
MAX_FIELDS_TOTAL = 50_000  # all custom fields of a record, as JSON in UTF-8 bytes
MAX_TAGS, MAX_TAG = 100, 100
MAX_ADDRESSES = 50  # cc, bcc
MAX_PEOPLE = 100  # followers, departments
MAX_LINE = 300  # names, phones, links and other one-line fields


def _named_keys(value: dict[str, Any]) -> dict[str, Any]:
    """A map's keys name things (a custom field, a language): none may be blank or huge.
    A blank key once stored made every later list of its kind fail (issue "Hardening")."""
    if len(value) > MAX_FIELDS:
        raise ValueError(f"at most {MAX_FIELDS} entries, not {len(value)}")
    size = 0
    for key, item in value.items():
        if not key.strip():
            raise ValueError("a key may not be empty")
        if len(key) > MAX_KEY_LENGTH:
            raise ValueError(f"key {key[:20]!r}... is longer than {MAX_KEY_LENGTH} characters")
        dumped = json.dumps(item, ensure_ascii=False, default=str)
        if len(dumped) > MAX_FIELD_VALUE:
            raise ValueError(f"the value of {key!r} is longer than {MAX_FIELD_VALUE} "
                             "characters")
        size += utf8_size(key) + utf8_size(dumped)
    if size > MAX_FIELDS_TOTAL:
        raise ValueError(f"all values together take {size:,} bytes; at most "
                         f"{MAX_FIELDS_TOTAL:,}")
    return value


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8", errors="surrogatepass"))


def _long_text(value: str) -> str:
    size = utf8_size(value)
    if size > MAX_TEXT:
        raise ValueError(f"the text takes {size:,} bytes in UTF-8; at most {MAX_TEXT:,} "
                         "(put longer texts in an attachment)")
    return value


# Form posts send every value as text, so several fields take more than their type: a blank
# for "none", a comma-separated list. `json_schema_input_type` says so in the OpenAPI
# document, which must describe what is accepted (issue "Hardening": schemathesis checks it).
PositiveId = Annotated[int, Field(ge=1)]
OptionalId = Annotated[PositiveId | None, BeforeValidator(
    _none_if_blank, json_schema_input_type=PositiveId | Literal[""] | None)]
Tag = Annotated[str, Field(min_length=1, max_length=MAX_TAG)]
# The text forms: "a, b" (empty parts dropped), "3,5", "" for none.
TagText = Annotated[str, Field(pattern=rf"^[^,]{{0,{MAX_TAG}}}(,[^,]{{0,{MAX_TAG}}})*$")]
IdText = Annotated[str, Field(pattern=r"^\s*(0*[1-9]\d{0,37}\s*)?(,\s*(0*[1-9]\d{0,37}\s*)?)*$")]
Blank = Annotated[str, Field(max_length=0)]
Tags = Annotated[list[Tag], BeforeValidator(_as_list, json_schema_input_type=list[Tag] | TagText),
                 Field(max_length=MAX_TAGS)]
IdList = Annotated[list[PositiveId], BeforeValidator(
    _as_list, json_schema_input_type=list[PositiveId] | IdText | PositiveId)]
People = Annotated[list[PositiveId], BeforeValidator(
    _as_list, json_schema_input_type=list[PositiveId] | IdText | PositiveId),
    Field(max_length=MAX_PEOPLE)]
Line = Annotated[str, Field(max_length=MAX_LINE)]
LongText = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(_long_text)]
MessageText = Annotated[str, Field(min_length=1, max_length=MAX_TEXT), AfterValidator(_long_text)]
Flag = Annotated[bool, BeforeValidator(_as_bool, json_schema_input_type=bool | Literal[
    0, 1, "", "0", "1", "false", "true", "no", "yes", "off", "on"])]  # lower case documented
# email-validator decides; the schema tells what it takes: at most 254 characters and no
# special-use domain mail cannot go to (email_validator.SPECIAL_USE_DOMAIN_NAMES, copied:
# the package loads on the first address, off the cold start; a test compares them).
SPECIAL_USE_DOMAIN_NAMES = ("arpa", "invalid", "local", "localhost", "onion", "test")
Email = Annotated[str, AfterValidator(_email), WithJsonSchema({
    "type": "string", "format": "email", "maxLength": 254,
    "not": {"pattern": r"(?i)\.(" + "|".join(SPECIAL_USE_DOMAIN_NAMES) + r")\.?$"}})]
# (form posts may also send "a@x.io, b@x.io"; not described: a pattern cannot check addresses)
EmailList = Annotated[list[Email], BeforeValidator(_as_list,
                                                   json_schema_input_type=list[Email] | Blank),
                      Field(max_length=MAX_ADDRESSES)]
# A date as ISO-8601 (what the schema says), "31.12.2026 18:00:00" or "2026-12-31"; blank
# for none.
DateText = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
When = Annotated[datetime | None, BeforeValidator(
    _as_datetime, json_schema_input_type=DateText | Blank | None)]
# A character str.strip() keeps, for JSON Schema: Python's whitespace spelled out, since
# JSON Schema's \s is ECMAScript's (without \x1c-\x1f and \x85, with \ufeff).
NOT_BLANK = "[^\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
# Keys name things: not blank, not huge, at most MAX_FIELDS of them (sizes: _named_keys).
_KEYS = Field(json_schema_extra={"maxProperties": MAX_FIELDS, "propertyNames": {
    "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": NOT_BLANK}})
FieldValues = Annotated[dict[str, Any], AfterValidator(_named_keys), _KEYS]  # custom fields
Names = Annotated[dict[str, str], AfterValidator(_named_keys), _KEYS]  # a name per language


class Input(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class TicketFields(Input):
    description: LongText | None = None
    sla_date: When = None
    status_id: str | None = None
    priority_id: OptionalId = None
    type_id: OptionalId = None
    department_id: OptionalId = None
    ticket_lock: Flag | None = None
    owner_id: OptionalId = None
    user_id: OptionalId = None
    cc: EmailList | None = None
    bcc: EmailList | None = None
    followers: People | None = None
    custom_fields: FieldValues | None = None
    tags: Tags | None = None



class TicketCreate(TicketFields):
    title: str = Field(min_length=1, max_length=1000)
    user_email: Annotated[Email | None, BeforeValidator(_none_if_blank)] = None
    user_name: Line | None = None
    create_from_user: OptionalId = None
    pid: OptionalId = None
    source: Line | None = None
    mailbox: Email | None = None



class TicketUpdate(TicketFields):
    title: str | None = Field(default=None, min_length=1, max_length=1000)
    sla_policy_id: OptionalId = None
    spam: Flag | None = None


class MessageCreate(Input):
    text: MessageText
    user_id: OptionalId = None
    visible: Flag | None = None


class MessageUpdate(Input):
    text: MessageText
    visible: Flag | None = None


class UserFields(Input):
    lastname: Line | None = None
    alias: Line | None = None
    phone: Line | None = None
    skype: Line | None = None
    website: Line | None = None
    organization: Line | None = None
    organiz_id: OptionalId = None
    department: People | None = None
    password: str | None = Field(default=None, min_length=6, max_length=200)
    group_id: OptionalId = None
    status: str | None = Field(default=None, pattern="^(active|disabled)$")
    language: str | None = Field(default=None, max_length=8)
    notifications: int | None = None
    user_status: OptionalId = None
    custom_fields: FieldValues | None = None


class UserCreate(UserFields):
    name: str = Field(min_length=1, max_length=200)
    email: Email



class UserUpdate(UserFields):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: Email | None = None



class DictionaryCreate(Input):
    id: str | None = None  # ignored: entries other than statuses are numbered
    name: Names = Field(min_length=1)
    # Flags of a new entry: a custom status may pause SLA or count as closed; a group's role;
    # the place in lists. They were stored as sent: a role that is no Role failed later.
    paused: bool | None = None
    closed: bool | None = None
    role: Role | None = None
    position: int | None = Field(default=None, ge=0, le=1_000_000)


class StatusCreate(DictionaryCreate):
    id: str = Field(min_length=1, max_length=MAX_KEY_LENGTH)  # statuses are named: "in_progress"


def _domains(value: Any) -> Any:
    domains = _as_list(value)
    if not isinstance(domains, list):
        return domains
    cleaned = []
    for domain in domains:
        domain = str(domain).strip().lower().removeprefix("@")
        if not domain or "." not in domain or " " in domain or "@" in domain:
            raise ValueError(f"{domain!r} is not a mail domain such as 'example.com'")
        cleaned.append(domain)
    return list(dict.fromkeys(cleaned))


# What _domains takes: a name with a dot, no space or "@" (but a leading one).
DomainText = Annotated[str, Field(pattern=r"^\s*@?[^ @]*\.[^ @]*$")]
Domains = Annotated[list[str], BeforeValidator(
    _domains, json_schema_input_type=list[DomainText] | Blank), Field(max_length=MAX_FIELDS)]


class OrganizationFields(Input):
    domains: Domains | None = None
    address: Line | None = None
    phone: Line | None = None
    email: Line | None = None
    web: Line | None = None
    minute_limit: int | None = Field(default=None, ge=0)
    employees: IdList | None = None
    managers: IdList | None = None
    custom_fields: FieldValues | None = None


class OrganizationCreate(OrganizationFields):
    name: str = Field(min_length=1, max_length=300)


class OrganizationUpdate(OrganizationFields):
    name: str | None = Field(default=None, min_length=1, max_length=300)


# An http(s) URL: optional user info (webhook receivers with basic auth), a host (a name of
# RFC 3986 characters, punycode for international names, or a bracketed IPv6 address), an
# optional port, then anything without spaces. One pattern for the validator and the OpenAPI
# document, so that neither accepts what the other refuses.
HTTP_URL_PATTERN = (r"^[hH][tT][tT][pP][sS]?://"
                    r"([A-Za-z0-9._~%!$&'()*+,;=:-]*@)?"
                    r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%!$&'()*+,;=-]+)"
                    r"(:[0-9]{0,5})?([/?#]\S*)?$")
_HTTP_URL = re.compile(HTTP_URL_PATTERN)


def _http_url(value: str) -> str:
    # A bracketed host that is no IPv6 address passes here (no pattern can tell) and is a
    # 422 from the SSRF guard when saved: well-formed, but nowhere to connect.
    if not _HTTP_URL.fullmatch(value):
        raise ValueError("must be an http(s) URL with a host (ASCII: punycode for "
                         "international names)")
    return value


# Where the URL may point (public addresses only) is the SSRF guard's decision when saved.
HttpUrl = Annotated[str, AfterValidator(_http_url),
                    Field(json_schema_extra={"pattern": HTTP_URL_PATTERN})]
