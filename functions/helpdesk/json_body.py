"""Request bodies as JSON objects, refusing (400, InvalidInput naming why) what a JSON parser
or DynamoDB cannot take instead of failing deeper down with a 500: nesting that exhausts
Python's recursion, integers too long to convert, numbers outside DynamoDB's range or
precision, and JSON's non-standard NaN/Infinity."""

from __future__ import annotations

import json
from typing import Any

from helpdesk.errors import InvalidInput

# Bodies of our API nest 3 levels (a ticket's custom fields, a rule's conditions) and
# providers' updates about 6: 32 is plenty for every honest sender.
MAX_DEPTH = 32
MAX_DIGITS = 38  # DynamoDB keeps numbers of up to 38 significant digits
SMALLEST, LARGEST = 1e-130, 1e126  # DynamoDB's number range (besides 0)


def json_object(raw: bytes | str, *, field: str | None = "body",
                stored_numbers: bool = True) -> dict[str, Any]:
    """The body as a JSON object. `stored_numbers`: numbers may be stored as sent (an API
    body), so they must fit DynamoDB; a provider's update keeps only the fields we read."""
    checks: dict[str, Any] = {"parse_constant": _refuse_constant(field)}
    if stored_numbers:
        checks.update(parse_int=_integer_checker(field), parse_float=_fraction_checker(field))
    try:
        body = json.loads(raw, **checks)
    except RecursionError:
        raise InvalidInput(_too_deep(), field=field) from None
    except (UnicodeDecodeError, ValueError) as error:  # JSONDecodeError, int() over 4,300 digits
        raise InvalidInput(f"the body is not valid JSON: {error}", field=field) from None
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", field=field)
    if depth(body) > MAX_DEPTH:
        raise InvalidInput(_too_deep(), field=field)
    return body


def depth(value: Any) -> int:
    """How many objects and arrays sit within one another, counted without recursion; stops
    counting once past MAX_DEPTH."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        children = (item.values() if isinstance(item, dict)
                    else item if isinstance(item, list) else None)
        if children is None:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        pending.extend((child, level + 1) for child in children)
    return deepest


def _too_deep() -> str:
    return f"the body is nested deeper than {MAX_DEPTH} levels"


def _integer_checker(field: str | None) -> Any:
    def integer(text: str) -> int:
        if len(text.lstrip("-")) > MAX_DIGITS:
            raise InvalidInput(f"a number in the body has more than {MAX_DIGITS} digits",
                               field=field)
        return int(text)

    return integer


def _fraction_checker(field: str | None) -> Any:
    def fraction(text: str) -> float:
        value = float(text)
        if value != 0 and not SMALLEST <= abs(value) < LARGEST:  # infinity too
            raise InvalidInput(f"the number {text} is out of the range DynamoDB stores "
                               f"({SMALLEST:g} to {LARGEST:g})", field=field)
        return value

    return fraction


def _refuse_constant(field: str | None) -> Any:
    def refuse(name: str) -> Any:
        raise InvalidInput(f"{name} is not a number JSON allows", field=field)

    return refuse
