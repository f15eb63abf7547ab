"""`make mutate`: mutmut with our layout. mutmut names a mutated function after its file path
(functions/helpdesk/rules/conditions.py -> functions.helpdesk.rules.conditions) and strips
only a `src.` prefix, while the code imports it as helpdesk.rules.conditions (functions/ is
on the path, as in Lambda). This strips `functions.` too, then runs mutmut's own CLI."""

from __future__ import annotations

import mutmut.utils.format_utils as format_utils
from mutmut.__main__ import cli

_strip_prefix = format_utils.strip_prefix


def _strip_our_prefix(name: str, prefix: str) -> str:
    return _strip_prefix(_strip_prefix(name, prefix="functions."), prefix=prefix)


format_utils.strip_prefix = _strip_our_prefix  # type: ignore[assignment]

if __name__ == "__main__":
    cli()
