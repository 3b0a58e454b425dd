"""What the backends share: SDK imports, option checks, Retry-After, tool-input parsing."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from skilld.exceptions import ConfigurationError, MissingDependencyError, ModelError

__all__ = [
    "STREAM_ERROR_STATUS",
    "check_options",
    "import_sdk",
    "parse_tool_input",
    "retry_after_seconds",
]

# The error types a provider puts in the body of an error that arrives inside a 200
# stream (Anthropic's `event: error`), as the status the same error has on its own.
STREAM_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


def retry_after_seconds(
    headers: Mapping[str, str] | None, *, now: Callable[[], float] = time.time
) -> float | None:
    """The delay a response asks for: ``retry-after-ms``, else ``Retry-After`` (seconds or
    an HTTP date); None when absent or unreadable."""
    if not headers:
        return None
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


def check_options(backend: str, options: Mapping[str, Any], known: Iterable[str]) -> None:
    """Refuse an option the backend does not understand, naming it and the known ones."""
    allowed = set(known)
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ConfigurationError(
            f"{backend} model: unknown option(s) {', '.join(unknown)}; "
            f"known options: {', '.join(sorted(allowed))}"
        )


def import_sdk(package: str, extra: str, purpose: str) -> Any:
    """Import an optional SDK, or say what to install."""
    import importlib

    try:
        return importlib.import_module(package)
    except ImportError as error:
        raise MissingDependencyError(package, extra, purpose) from error


def parse_tool_input(name: str, text: str) -> dict[str, Any]:
    """The JSON object a model wrote as a tool's input (empty text is ``{}``)."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ModelError(
            f"tool use {name!r}: the model sent input that is not JSON: {text!r}"
        ) from error
    if not isinstance(value, dict):
        raise ModelError(
            f"tool use {name!r}: the model sent input that is not a JSON object: {text!r}"
        )
    return value
