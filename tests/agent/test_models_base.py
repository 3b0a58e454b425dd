"""The model interface's token estimate: tool schemas are encoded once, the text unchanged."""

from __future__ import annotations

import json
import types
from typing import Any

import pytest

from skilld.agent.models import base
from skilld.agent.models.base import Message, ModelRequest, ToolSpec, request_text

SCHEMA: dict[str, Any] = {"type": "object", "properties": {"path": {"type": "string"}}}


def _counting_json(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []

    def dumps(value: object, **kwargs: Any) -> str:
        calls.append(value)
        return json.dumps(value, **kwargs)

    monkeypatch.setattr(base, "json", types.SimpleNamespace(dumps=dumps))
    return calls


def test_request_text_is_what_it_was() -> None:
    tool = ToolSpec("Read", "reads a file", {"type": "object", "title": "ü"})
    request = ModelRequest(messages=[Message.user("hi")], system="sys", tools=[tool])
    expected = "\n".join(["sys", "hi", "Read", "reads a file", json.dumps(tool.input_schema)])
    assert request_text(request) == expected


def test_a_schema_is_encoded_once_across_specs_and_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _counting_json(monkeypatch)
    schema = {**SCHEMA}  # a schema object of this test's own, as a tool holds one
    for turn in range(3):  # the agent loop builds fresh specs every turn
        spec = ToolSpec("Read", "d", schema)
        request_text(ModelRequest(messages=[Message.user(str(turn))], tools=[spec]))
        request_text(ModelRequest(messages=[Message.user(str(turn))], tools=[spec]))
    assert calls == [schema]


def test_another_schema_object_is_encoded_anew(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting_json(monkeypatch)
    first, second = {"type": "object"}, {"type": "object", "required": ["x"]}
    assert ToolSpec("A", "d", first).schema_json == '{"type": "object"}'
    assert ToolSpec("A", "d", second).schema_json == json.dumps(second)
    assert calls == [first, second]


def test_the_cached_text_takes_no_part_in_equality() -> None:
    left, right = ToolSpec("A", "d", SCHEMA), ToolSpec("A", "d", SCHEMA)
    assert left.schema_json
    assert left == right
    assert "schema_json" not in repr(left)
