"""Local HTTP servers that speak the Anthropic and OpenAI wire formats, for the real SDKs."""

from tests.agent.fakes.anthropic_api import FakeAnthropic
from tests.agent.fakes.openai_api import FakeOpenAI
from tests.agent.fakes.server import FakeServer, Recorded, Reply

__all__ = ["FakeAnthropic", "FakeOpenAI", "FakeServer", "Recorded", "Reply"]
