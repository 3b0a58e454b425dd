"""Model backends, chosen by URI.

=====================  ============================================================
``anthropic:<model>``  Claude through the ``anthropic`` SDK (``skilld[anthropic]``)
``openai:<model>``     any Chat Completions server through the ``openai`` SDK
                       (``skilld[openai]``): OpenAI, vLLM, Ollama, llama.cpp…
``sim:<latency>``      the deterministic simulated model (``sim:200ms``)
``test:echo``          answers with the last user message, at once
``test:scripted``      :class:`ScriptedModel` (option ``script=[...]``)
``test:function``      :class:`FunctionModel` (option ``function=...``)
=====================  ============================================================

Only the backend a URI names is imported, and its SDK only when the model is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from skilld.agent.models.base import (
    ContentBlock,
    Message,
    Model,
    ModelRequest,
    ModelResponse,
    ResponseDone,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolResultBlock,
    ToolSpec,
    ToolUseBlock,
    ToolUseEvent,
    Usage,
)
from skilld.agent.models.sim import Latency, SimModel
from skilld.agent.models.testing import FunctionModel, ScriptedModel, tool_call
from skilld.exceptions import ConfigurationError

__all__ = [
    "ContentBlock",
    "FunctionModel",
    "Latency",
    "Message",
    "Model",
    "ModelFactory",
    "ModelRequest",
    "ModelResponse",
    "ResponseDone",
    "ScriptedModel",
    "SimModel",
    "StreamEvent",
    "TextBlock",
    "TextDelta",
    "ToolResultBlock",
    "ToolSpec",
    "ToolUseBlock",
    "ToolUseEvent",
    "Usage",
    "register_model_scheme",
    "resolve_model",
    "tool_call",
]

ModelFactory = Callable[..., Model]
"""Builds a model from the part of the URI after ``scheme:`` and the keyword options."""


def _anthropic(rest: str, **options: Any) -> Model:
    from skilld.agent.models._shared import check_options
    from skilld.agent.models.anthropic import OPTIONS, AnthropicModel

    check_options("anthropic", options, OPTIONS)
    return AnthropicModel(rest, **options)


def _openai(rest: str, **options: Any) -> Model:
    from skilld.agent.models._shared import check_options
    from skilld.agent.models.openai import OPTIONS, OpenAIModel

    check_options("openai", options, OPTIONS)
    return OpenAIModel(rest, **options)


def _sim(rest: str, **options: Any) -> Model:
    from skilld.agent.models._shared import check_options
    from skilld.agent.models.sim import sim_options

    latency, _, query = rest.partition("?")
    merged = {**sim_options(query), **options}
    check_options(
        "sim",
        merged,
        {"seed", "reply", "tool_calls", "error_rate", "error_status", "chunk_latency", "sleep"},
    )
    return SimModel(latency, **merged)


def _test(rest: str, **options: Any) -> Model:
    from skilld.agent.models._shared import check_options
    from skilld.agent.models.testing import echo

    kind = rest or "echo"
    if kind == "echo":
        check_options("test:echo", options, ())
        return FunctionModel(echo, name="test:echo")
    if kind == "scripted":
        check_options("test:scripted", options, {"script"})
        if "script" not in options:
            raise ConfigurationError("test:scripted needs the option script=[...]")
        return ScriptedModel(options["script"])
    if kind == "function":
        check_options("test:function", options, {"function", "stream_function"})
        return FunctionModel(**options)
    raise ConfigurationError(
        f"unknown test model {kind!r}: use test:echo, test:scripted or test:function"
    )


_SCHEMES: dict[str, ModelFactory] = {
    "anthropic": _anthropic,
    "openai": _openai,
    "sim": _sim,
    "test": _test,
}


def register_model_scheme(scheme: str, factory: ModelFactory) -> None:
    """Make ``resolve_model("<scheme>:...")`` call ``factory(rest, **options)``."""
    if not scheme.isidentifier():
        raise ConfigurationError(f"model scheme must be a plain word, not {scheme!r}")
    _SCHEMES[scheme] = factory


def resolve_model(uri: str | Model, **options: Any) -> Model:
    """The model a URI names, built with ``options``.

    ``resolve_model("sim:200ms")``, ``resolve_model("anthropic:claude-sonnet-5-5",
    max_retries=0)``, ``resolve_model("openai:qwen2.5:7b",
    base_url="http://localhost:11434/v1")``. A :class:`Model` is returned as it is, so
    callers can accept either. Unknown schemes and options raise
    :class:`~skilld.exceptions.ConfigurationError`; a missing SDK raises
    :class:`~skilld.exceptions.MissingDependencyError` saying what to install.
    """
    if isinstance(uri, Model):
        if options:
            raise ConfigurationError("options cannot be applied to a model that is already built")
        return uri
    scheme, colon, rest = uri.strip().partition(":")
    factory = _SCHEMES.get(scheme)
    if factory is None:
        known = ", ".join(f"{name}:" for name in sorted(_SCHEMES))
        raise ConfigurationError(f"unknown model {uri!r}: a model URI starts with one of {known}")
    if not colon and scheme in ("anthropic", "openai"):
        raise ConfigurationError(f"model {uri!r} names no model: write {scheme}:<model>")
    return factory(rest, **options)
