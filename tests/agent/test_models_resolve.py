"""resolve_model: URIs, options, registration, lazy imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from skilld.agent.models import (
    Message,
    Model,
    ModelRequest,
    ModelResponse,
    SimModel,
    TextBlock,
    Usage,
    register_model_scheme,
    resolve_model,
)
from skilld.agent.models.base import split_context_suffix
from skilld.exceptions import ConfigurationError


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match=r"anthropic:, openai:, sim:, test:"):
        resolve_model("gemini:pro")


@pytest.mark.parametrize("uri", ["anthropic", "openai", "anthropic:", "openai:"])
def test_provider_uri_without_a_model(uri: str) -> None:
    with pytest.raises(ConfigurationError, match="model"):
        resolve_model(uri, api_key="k")


def test_a_model_passes_through() -> None:
    model = SimModel(0)
    assert resolve_model(model) is model
    with pytest.raises(ConfigurationError, match="already built"):
        resolve_model(model, seed=1)


def test_sim_without_latency_is_instant() -> None:
    model = resolve_model("sim")
    assert isinstance(model, SimModel)
    assert model.latency.kind == "fixed"
    assert model.latency.a == 0


async def test_register_a_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    import skilld.agent.models as models

    monkeypatch.setattr(models, "_SCHEMES", dict(models._SCHEMES))

    class Constant(Model):
        def __init__(self, text: str) -> None:
            self.text = text
            self.name = f"constant:{text}"

        async def complete(self, request: ModelRequest) -> ModelResponse:
            return ModelResponse((TextBlock(self.text),), "end_turn", Usage(), self.name)

    register_model_scheme("constant", lambda rest, **options: Constant(rest, **options))

    model = resolve_model("constant:42")
    assert (await model.complete(ModelRequest(messages=[Message.user("x")]))).text == "42"
    with pytest.raises(ConfigurationError):
        register_model_scheme("not a word", Constant)


def test_split_context_suffix() -> None:
    assert split_context_suffix("claude-opus-5-5[1m]") == ("claude-opus-5-5", "[1m]")
    assert split_context_suffix("claude-opus-5-5[1M]") == ("claude-opus-5-5", "[1m]")
    assert split_context_suffix("gpt-4.1") == ("gpt-4.1", "")


def test_importing_models_does_not_import_the_sdks() -> None:
    code = (
        "import sys, skilld, skilld.agent.models as m; m.resolve_model('sim:1ms'); "
        "print(sorted(n for n in ('anthropic', 'openai', 'httpx2') if n in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
