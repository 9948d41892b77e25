"""A small in-memory limit on failed logins per username and client address.

Per process: with one gunicorn worker (the embedded default) that is the whole service; on
several nodes each keeps its own count, which still slows a guesser down.
"""

from __future__ import annotations

import threading
import time


class LoginThrottle:
    def __init__(self, max_failures: int = 10, window_seconds: float = 300.0):
        self.max_failures = max_failures
        self.window = window_seconds
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, username: str, address: str) -> int:
        """Seconds until the next attempt is allowed; 0 when allowed now."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(self._failures.get((username, address), []), now)
            if len(times) < self.max_failures:
                return 0
            return max(1, int(times[0] + self.window - now) + 1)

    def failed(self, username: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            key = (username, address)
            times = self._recent(self._failures.get(key, []), now)
            times.append(now)
            self._failures[key] = times[-self.max_failures :]

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            self._failures.pop((username, address), None)

    def prune(self) -> int:
        """Forget entries older than the window; returns how many keys were dropped."""
        now = time.monotonic()
        with self._lock:
            stale = [k for k, v in self._failures.items() if not self._recent(v, now)]
            for k in stale:
                del self._failures[k]
        return len(stale)

    def _recent(self, times: list[float], now: float) -> list[float]:
        return [t for t in times if now - t < self.window]
