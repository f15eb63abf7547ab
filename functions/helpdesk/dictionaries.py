"""Reference lists (departments, statuses, priorities, types, groups, user statuses)."""

from __future__ import annotations

import builtins

from helpdesk.access import Viewer
from helpdesk.errors import Conflict, InvalidInput, NotFound, UnknownReference
from helpdesk.models import DictionaryEntry, LocalizedName, Role
from helpdesk.store.repository import Repository

CLOSED_STATUS = "closed"

KINDS = ("departments", "statuses", "priorities", "types", "groups", "user_statuses")


def _entry(entry_id: int | str, en: str, ru: str, **extra: object) -> DictionaryEntry:
    return DictionaryEntry(id=entry_id, name={"en": en, "ru": ru}, extra=dict(extra))


# Written once at bootstrap; an admin can add more. Status ids are strings (API.md).
DEFAULTS: dict[str, list[DictionaryEntry]] = {
    "departments": [_entry(1, "Support", "Поддержка")],
    "statuses": [
        _entry("open", "Open", "Открыта", paused=False, closed=False, position=1),
        _entry("pending", "Waiting for customer", "Ожидает ответа клиента", paused=True,
               closed=False, position=2),
        # On hold: waiting for someone else (a supplier, another team); the SLA clock stops.
        _entry("on_hold", "On hold", "Отложена", paused=True, closed=False, position=3),
        _entry("closed", "Closed", "Закрыта", paused=False, closed=True, position=4),
    ],
    "priorities": [
        _entry(1, "Low", "Низкий"),
        _entry(2, "Normal", "Средний"),
        _entry(3, "High", "Высокий"),
        _entry(4, "Critical", "Критический"),
    ],
    "types": [
        _entry(1, "Question", "Вопрос"),
        _entry(2, "Incident", "Инцидент"),
        _entry(3, "Problem", "Проблема"),
        _entry(4, "Task", "Задача"),
    ],
    "groups": [
        _entry(1, "Administrators", "Администраторы", role=Role.ADMIN.value),
        _entry(2, "Agents", "Сотрудники", role=Role.AGENT.value),
        _entry(3, "Customers", "Клиенты", role=Role.CUSTOMER.value),
    ],
    "user_statuses": [
        _entry(1, "Online", "В сети"),
        _entry(2, "Away", "Отошёл"),
        _entry(3, "Offline", "Не в сети"),
    ],
}

ADMIN_GROUP, AGENT_GROUP, CUSTOMER_GROUP = 1, 2, 3
DEFAULT_PRIORITY = 2
DEFAULT_DEPARTMENT = 1


class Dictionaries:
    def __init__(self, repository: Repository) -> None:
        self._repository = repository
        self._known: dict[tuple[str, int | str], DictionaryEntry] = {}

    def install_defaults(self) -> None:
        for kind, entries in DEFAULTS.items():
            for entry in entries:
                self._repository.dictionary.put_dictionary_entry(kind, entry, only_new=True)

    def list(self, kind: str) -> list[DictionaryEntry]:
        entries = self._repository.dictionary.dictionary(kind)
        return sorted(entries, key=lambda e: (
            e.extra.get("position", 1000), e.id if isinstance(e.id, int) else 0, str(e.id)))

    def get(self, kind: str, entry_id: int | str) -> DictionaryEntry | None:
        # Entries are only added, never changed, except a department's name and managers;
        # those are read fresh where they matter (SLA escalations), so a found entry can be
        # kept for the container's life: it saves a read on every authenticated request.
        key = (kind, entry_id)
        if key not in self._known:
            entry = self._repository.dictionary.dictionary_entry(kind, entry_id)
            if entry is None:
                return None
            self._known[key] = entry
        return self._known[key]

    def require(self, kind: str, entry_id: int | str, field: str) -> DictionaryEntry:
        entry = self.get(kind, entry_id)
        if entry is None:
            raise UnknownReference(f"{field} {entry_id!r} is not one of the {kind}", field=field)
        return entry

    def is_closed(self, status_id: str) -> bool:
        """A closed status (the SLA's resolution is met; a customer's message reopens it)."""
        entry = self.get("statuses", status_id)
        return bool(entry and entry.extra.get("closed")) or status_id == CLOSED_STATUS

    def is_paused(self, status_id: str) -> bool:
        """Waiting for the customer, on hold: the SLA clock stops."""
        entry = self.get("statuses", status_id)
        return bool(entry and entry.extra.get("paused"))

    def role_of_group(self, group_id: int) -> Role:
        entry = self.get("groups", group_id)
        if entry is None:
            raise NotFound(f"group {group_id} does not exist")
        return Role(entry.extra.get("role", Role.CUSTOMER.value))

    def update_department(self, viewer: Viewer, department_id: int,
                          name: LocalizedName | None,
                          managers: builtins.list[int] | None) -> DictionaryEntry:
        """Rename a department or name its managers (they hear of missed SLA targets)."""
        viewer.require_admin("change departments")
        entry = self._repository.dictionary.dictionary_entry("departments", department_id)
        if entry is None:
            raise NotFound(f"department {department_id} does not exist")
        if managers is not None:
            for manager in managers:
                user = self._repository.people.get_user(manager)
                if user is None or user.kind.value != "staff" or not user.active:
                    raise UnknownReference(f"managers: {manager} is not an active staff member",
                                           field="managers")
            entry.extra = {**entry.extra, "managers": list(dict.fromkeys(managers))}
        if name is not None:
            entry.name = name
        self._repository.dictionary.put_dictionary_entry("departments", entry, only_new=False)
        self._known[("departments", department_id)] = entry
        return entry

    def add(self, viewer: Viewer, kind: str, name: LocalizedName, entry_id: int | str | None,
            extra: dict[str, object]) -> DictionaryEntry:
        viewer.require_admin(f"add {kind}")
        if not name:
            raise InvalidInput("name needs at least one language", field="name")
        if kind == "statuses":
            if not isinstance(entry_id, str) or not entry_id:
                raise InvalidInput("a status needs a string id such as 'in_progress'",
                                   field="id")
            entry = DictionaryEntry(id=entry_id, name=name, extra=extra)
            if not self._repository.dictionary.put_dictionary_entry(kind, entry, only_new=True):
                raise Conflict(f"status {entry_id!r} already exists", field="id")
            return entry
        # Integer ids continue from the largest one; a concurrent add makes us try the next.
        for _ in range(5):
            taken = [e.id for e in self.list(kind) if isinstance(e.id, int)]
            entry = DictionaryEntry(id=max(taken, default=0) + 1, name=name, extra=extra)
            if self._repository.dictionary.put_dictionary_entry(kind, entry, only_new=True):
                return entry
        raise InvalidInput(f"could not allocate an id in {kind}, try again")
