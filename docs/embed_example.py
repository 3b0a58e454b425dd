import asyncio
import tempfile
from pathlib import Path

from skilld.agent.loop import Agent, ToolEnd, TurnEnd
from skilld.agent.models import ScriptedModel, tool_call
from skilld.agent.tools import builtin_tools
from skilld.skills.registry import SkillRegistry


def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())


async def main(project: Path) -> str:
    skill = project / ".claude" / "skills" / "greet" / "SKILL.md"
    skill.parent.mkdir(parents=True)
    skill.write_text("---\ndescription: Greet someone\n---\nGreet $ARGUMENTS warmly.\n")

    # Any model URI works here ("anthropic:claude-sonnet-4-5", "openai:gpt-4o", "sim:0");
    # a scripted model keeps this example offline and deterministic.
    model = ScriptedModel(
        [
            tool_call("Skill", {"skill": "greet", "args": "Ada"}),
            tool_call("word_count", {"text": "Hello Ada, welcome!"}),
            "Hello Ada, welcome!",
        ]
    )
    agent = Agent(
        model,
        registry=SkillRegistry(project),  # adds the Skill tool, listing these skills
        tools=[*builtin_tools(), word_count],  # a typed function is a tool
        cwd=project,
    )
    async for event in agent.run("Please greet Ada."):
        if isinstance(event, ToolEnd):
            print(f"{event.tool_use.name} -> {event.result.content}")
        elif isinstance(event, TurnEnd):
            return event.text
    raise AssertionError("a turn always ends with TurnEnd")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        print(asyncio.run(main(Path(folder))))
