"""Server-side record of the web app's signed-in sessions (issue 26, class 6).

The session cookie is signed (itsdangerous) and carries the user's API token, so on its own it
stayed valid until it expired (12 h): after **Sign out**, a copy of the cookie still opened the
inbox. Now each sign-in gets a random session id, kept here with when it was last used; a cookie
whose id is not here (signed out, idle too long, or from before this process started) is no session.

- **Sign out** forgets the id at once: the old cookie, replayed, shows the sign-in page.
- **Idle**: a session not used for `SUPPORT_WEBAPP_SESSION_IDLE_SECONDS` (2 hours) is forgotten;
  the signed cookie's own age limit (`SUPPORT_WEBAPP_SESSION_HOURS`) still applies on top.
- In process memory, on the wall clock (monotonic; not the business clock an admin may move):
  restarting the web app signs everyone out, which fails safe. One web-app process holds the
  sessions (embedded mode, and the one `webapp` process of `make up`); several replicas would need
  a shared store (docs/decisions.md, Issue 26).
- Bounded: past `max_sessions` the least recently used session is forgotten first.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class SessionRegistry:
    def __init__(
        self,
        idle_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_sessions: int = 100_000,
    ) -> None:
        self.idle_seconds = idle_seconds
        self.clock = clock
        self.max_sessions = max_sessions
        self._last_used: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def start(self) -> str:
        session_id = secrets.token_urlsafe(24)
        with self._lock:
            self._last_used[session_id] = self.clock()
            while len(self._last_used) > self.max_sessions:
                self._last_used.popitem(last=False)
        return session_id

    def touch(self, session_id: object) -> bool:
        """Whether the session is alive; if so, it was used now."""
        if not isinstance(session_id, str):
            return False
        now = self.clock()
        with self._lock:
            last = self._last_used.get(session_id)
            if last is None:
                return False
            if now - last > self.idle_seconds:
                del self._last_used[session_id]
                return False
            self._last_used[session_id] = now
            self._last_used.move_to_end(session_id)
            return True

    def end(self, session_id: object) -> None:
        if isinstance(session_id, str):
            with self._lock:
                self._last_used.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._last_used)
