"""Backend URLs: ``memory://[name]``, ``sqlite:///path``, ``amqp://…``, ``redis://…``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from skilld.exceptions import ConfigurationError

__all__ = ["BackendURL", "parse_url"]


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

    def float_option(self, name: str, default: float) -> float:
        raw = self.options.get(name)
        if raw is None:
            return default
        try:
            return float(raw)
        except ValueError:
            raise ConfigurationError(f"{self.url}: option {name}={raw!r} is not a number") from None


def parse_url(url: str, *, kind: str) -> BackendURL:
    """Split a backend URL; ``kind`` ("broker", "store") names it in error messages."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme:
        raise ConfigurationError(
            f"{kind} URL {url!r} has no scheme: use memory://, sqlite:///PATH, amqp://… or redis://…"
        )
    scheme = scheme.lower()
    location, _, query = rest.partition("?")
    options = dict(parse_qsl(query, keep_blank_values=True))
    if scheme == "sqlite":
        if not location.startswith("/") or location == "/":
            raise ConfigurationError(
                f"{kind} URL {url!r}: write sqlite:///relative/file.db or sqlite:////abs/file.db"
            )
        location = location[1:]
    elif scheme not in ("memory",):
        location = urlsplit(url).netloc + urlsplit(url).path
    return BackendURL(url, scheme, location, options)
