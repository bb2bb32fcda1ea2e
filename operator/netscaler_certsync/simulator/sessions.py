"""Users and NITRO sessions: login, token lookup (Cookie or Set-Cookie, raw or %-encoded),
per-request X-NITRO-USER/X-NITRO-PASS, idle timeout, the 20-session limit and logout."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from netscaler_certsync.simulator.config import SimulatorConfig
from netscaler_certsync.simulator.errors import NitroError

COOKIE = "NITRO_AUTH_TOKEN"
_TOKEN = re.compile(r"(?:NITRO_AUTH_TOKEN|sessionid)=([^;,\s]+)")


def session_label(token: str) -> str:
    """A session's name in the request log: a digest, so the log never holds a usable token."""
    return hashlib.sha256(token.encode()).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class User:
    name: str
    password: str
    #: command policy: CLI commands must match this regex (None = superuser)
    allow: re.Pattern[str] | None = None


@dataclass(slots=True)
class Session:
    token: str
    user: User
    timeout: float
    last_used: float
    partition: str = "default"


class SessionStore:
    def __init__(self, config: SimulatorConfig, clock: Callable[[], float] = time.monotonic):
        self.config = config
        self._clock = clock
        self.users: dict[str, User] = {config.username: User(config.username, config.password)}
        for restricted in config.restricted_users:
            self.users[restricted.username] = User(
                restricted.username, restricted.password, re.compile(restricted.allow)
            )
        self.sessions: dict[str, Session] = {}
        self._ended: set[str] = set()  # logged-out / expired tokens answer 444, unknown ones 1027
        self.logins = 0

    def authenticate(self, username: object, password: object) -> User:
        user = self.users.get(str(username)) if username is not None else None
        if user is None or user.password != password:
            raise NitroError(354)
        return user

    def login(self, username: object, password: object, timeout: object = None) -> Session:
        user = self.authenticate(username, password)
        self._sweep()
        per_user = self.config.max_sessions_per_user
        if len(self.sessions) >= self.config.max_sessions or (
            per_user is not None and sum(s.user is user for s in self.sessions.values()) >= per_user
        ):
            raise NitroError(445, status=self.config.quirks.session_limit_status)
        try:
            seconds = float(timeout) if timeout not in (None, "") else self.config.session_timeout  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise NitroError(1097, "timeout") from exc
        # Random even with a fixed seed: two simulators (an HA pair) must never accept each other's tokens.
        length = 126 if self.config.quirks.login_cookie == "sessionid" else 30  # 252 or 60 hex digits
        token = "##" + secrets.token_hex(length).upper()
        session = Session(token, user, seconds, self._clock())
        self.sessions[token] = session
        self.logins += 1
        return session

    def _sweep(self) -> None:
        clock = self._clock()
        for token in [t for t, s in self.sessions.items() if clock - s.last_used > s.timeout]:
            self._end(token)

    def _end(self, token: str) -> None:
        self.sessions.pop(token, None)
        if len(self._ended) >= 10000:  # bounded for a long-running simulator: old tokens then get 1027
            self._ended.clear()
        self._ended.add(token)

    def logout(self, session: Session) -> None:
        self._end(session.token)

    def expire_all(self) -> int:
        tokens = list(self.sessions)
        for token in tokens:
            self._end(token)
        return len(tokens)

    @staticmethod
    def token_from_headers(cookie: str | None, set_cookie: str | None) -> str | None:
        for header in (cookie, set_cookie):
            if header:
                found = _TOKEN.search(header)
                if found:
                    return unquote(found.group(1))
        return None

    def resolve(self, token: str | None, username: str | None, password: str | None) -> Session:
        """The session a request runs in; per-request credentials make a throw-away session."""
        if token is not None:
            session = self.sessions.get(token)
            if session is None:
                raise NitroError(444 if token in self._ended else 1027)
            clock = self._clock()
            if clock - session.last_used > session.timeout:
                self._end(token)
                raise NitroError(444)
            session.last_used = clock
            return session
        if username is not None:
            return Session("", self.authenticate(username, password), 0.0, self._clock())
        raise NitroError(1027, form=self.config.quirks.no_credentials_answer)
