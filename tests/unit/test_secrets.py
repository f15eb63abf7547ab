"""Channel secrets are cached briefly: webhooks do not hammer Parameter Store."""

from __future__ import annotations

from helpdesk.store.secrets import CachedSecrets, MemorySecrets


class CountingSecrets(MemorySecrets):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, name: str) -> str | None:
        self.reads += 1
        return super().get(name)


def test_reads_are_cached_for_a_while_and_writes_are_seen_at_once():
    now = [0.0]
    store = CountingSecrets()
    store.put("channels/1", "old")
    cached = CachedSecrets(store, seconds=60, clock=lambda: now[0])
    assert [cached.get("channels/1") for _ in range(5)] == ["old"] * 5
    assert store.reads == 1
    cached.put("channels/1", "new")
    assert cached.get("channels/1") == "new" and store.reads == 1
    store.put("channels/1", "changed elsewhere")
    now[0] = 61
    assert cached.get("channels/1") == "changed elsewhere" and store.reads == 2
