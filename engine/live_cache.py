"""In-process cache of live workflow objects, validated by the instance's version column.

A command checks the workflow out (removing it, so no two threads ever share one object),
and checks it back in with the new version only after its transaction committed. A version
mismatch means another process or node changed the instance: the entry is ignored and the
state is loaded from the database.
"""

from __future__ import annotations

import threading
from collections import OrderedDict


class LiveCache:
    def __init__(self, max_size: int = 1000):
        self._max = max_size
        self._items: OrderedDict[int, tuple[int, object]] = OrderedDict()
        self._lock = threading.Lock()

    def checkout(self, instance_id: int, version: int):
        with self._lock:
            item = self._items.pop(instance_id, None)
        if item is not None and item[0] == version:
            return item[1]
        return None

    def checkin(self, instance_id: int, version: int, workflow) -> None:
        if self._max <= 0:
            return
        with self._lock:
            self._items[instance_id] = (version, workflow)
            self._items.move_to_end(instance_id)
            while len(self._items) > self._max:
                self._items.popitem(last=False)

    def rebase(self, instance_id: int, old_version: int, new_version: int) -> None:
        """A command that changed the row but not the workflow keeps the cached object valid."""
        with self._lock:
            item = self._items.get(instance_id)
            if item is not None and item[0] == old_version:
                self._items[instance_id] = (new_version, item[1])

    def discard(self, instance_id: int) -> None:
        with self._lock:
            self._items.pop(instance_id, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
