"""Backend URLs: ``memory://[name]``, ``sqlite:///path``, ``amqp://…``, ``redis://…``.

A URL may carry a password (``amqp://user:PASSWORD@host``, ``redis://:PASSWORD@host``,
``?password=…``). Wherever skilld shows or logs a URL (``skilld serve``'s banner,
``skilld worker``'s first line, error messages, log lines) it shows what
:func:`redact` leaves of it, never the password.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from skilld.exceptions import ConfigurationError

__all__ = ["BackendURL", "parse_url", "redact"]

T = TypeVar("T")

# Query options whose value is a credential (compared lower-case).
_SECRET_OPTIONS = frozenset(
    {"password", "passwd", "pwd", "pass", "secret", "token", "api_key", "apikey", "auth"}
)
MASK = "***"


def redact(url: str) -> str:
    """``url`` as it may be shown or logged: the password of its user info and the value
    of any credential option (``password=``, ``token=``...) replaced by ``***``.

    ``amqp://guest:guest@host:5672/`` becomes ``amqp://guest:***@host:5672/``; a user
    name alone (``amqp://guest@host``) is kept, as are URLs without credentials. Text
    that is not ``scheme://…`` is returned unchanged.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    location, question, query = rest.partition("?")
    netloc, slash, path = location.partition("/")
    userinfo, at, host = netloc.rpartition("@")
    if at:
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if colon else netloc
    if question:
        query = "&".join(_redact_option(option) for option in query.split("&"))
    return f"{scheme}{sep}{netloc}{slash}{path}{question}{query}"


def _redact_option(option: str) -> str:
    name, eq, _value = option.partition("=")
    if eq and name.lower() in _SECRET_OPTIONS:
        return f"{name}={MASK}"
    return option


@dataclass(frozen=True, slots=True)
class BackendURL:
    """A parsed backend URL: scheme, the rest, and ``?key=value`` options."""

    url: str
    scheme: str
    location: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        """The file of a ``sqlite:///path`` URL (``sqlite:////abs`` is absolute)."""
        return Path(self.location)

    def named(self, instances: dict[str, T], make: Callable[[], T]) -> T:
        """What ``memory://NAME`` means: the process-wide instance of that name, kept in
        ``instances`` and made on first use; ``memory://`` alone makes a new one."""
        if not self.location:
            return make()
        instance = instances.get(self.location)
        if instance is None:
            instance = instances[self.location] = make()
        return instance

    def setdefaults(self, options: dict[str, Any], **defaults: str | float) -> dict[str, Any]:
        """Complete a backend's ``options`` from the URL's ``?name=value`` (else from
        ``defaults``); what the caller gave wins. A number default reads the option as a
        number, so ``?result_ttl=soon`` is a clear error."""
        for name, default in defaults.items():
            value = (
                self.options.get(name, default)
                if isinstance(default, str)
                else self.float_option(name, default)
            )
            options.setdefault(name, value)
        return options

    def float_option(self, name: str, default: float) -> float:
        raw = self.options.get(name)
        if raw is None:
            return default
        try:
            return float(raw)
        except ValueError:
            raise ConfigurationError(
                f"{redact(self.url)}: option {name}={raw!r} is not a number"
            ) from None


def parse_url(url: str, *, kind: str) -> BackendURL:
    """Split a backend URL; ``kind`` ("broker", "store") names it in error messages."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme:
        raise ConfigurationError(
            f"{kind} URL {redact(url)!r} has no scheme: "
            "use memory://, sqlite:///PATH, amqp://… or redis://…"
        )
    scheme = scheme.lower()
    location, _, query = rest.partition("?")
    options = dict(parse_qsl(query, keep_blank_values=True))
    if scheme == "sqlite":
        if not location.startswith("/") or location == "/":
            raise ConfigurationError(
                f"{kind} URL {redact(url)!r}: "
                "write sqlite:///relative/file.db or sqlite:////abs/file.db"
            )
        location = location[1:]
    elif scheme not in ("memory",):
        location = urlsplit(url).netloc + urlsplit(url).path
    return BackendURL(url, scheme, location, options)
