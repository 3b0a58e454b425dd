"""Session state: which skills each agent invoked, and what survives a compaction.

Claude Code keeps the content of every invoked skill so that, when a conversation is
compacted, the skills the agent was following come back. The rules, kept here:

* Invocations are keyed by agent id *and* skill name, so a sub-agent invoking a skill
  never overwrites the main agent's entry (nor another sub-agent's).
* Compaction re-attaches the most recent invocation of each skill, most recent first,
  each cut to 5,000 tokens (with a marker saying so) and 25,000 tokens in all; a skill
  that no longer fits the total is left out.
* A fork's entries are released when it ends (:meth:`SessionState.release_agent`, or the
  :meth:`SessionState.agent_scope` context manager, which releases even on error).
* Re-invoking a skill whose content is identical and still in the conversation returns a
  short note instead of a second copy.

Tokens are estimated at 4 characters each unless a ``token_counter`` is given. One lock
guards the state, so any number of agents (threads or tasks) share one session.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

__all__ = [
    "COMPACTION_SKILL_TOKENS",
    "COMPACTION_TOTAL_TOKENS",
    "MAIN_AGENT_ID",
    "Invocation",
    "InvokedSkill",
    "SessionState",
    "SkillAttachment",
    "estimate_tokens",
    "render_attachments",
]

MAIN_AGENT_ID = "main"
"""The agent id of the session's top-level agent."""
COMPACTION_SKILL_TOKENS = 5_000
"""At most this many tokens of one skill are re-attached after a compaction."""
COMPACTION_TOTAL_TOKENS = 25_000
"""At most this many tokens of skills in all are re-attached after a compaction."""
CHARS_PER_TOKEN = 4

TokenCounter = Callable[[str], int]


def estimate_tokens(text: str) -> int:
    """Claude Code's rough estimate: four characters a token, rounded up."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@dataclass(frozen=True, slots=True)
class InvokedSkill:
    """The most recent invocation of one skill by one agent.

    Attributes:
        sequence: session-wide order of invocations (higher is more recent).
        invoked_at: the clock's time of the most recent invocation.
        count: how many times this agent invoked the skill.
        in_context: the full content is in the agent's conversation (False after a
            compaction left it out or cut it), so a re-invocation must send it again.
    """

    name: str
    agent_id: str
    content: str
    digest: str
    sequence: int
    invoked_at: float
    path: str | None = None
    count: int = 1
    in_context: bool = True


@dataclass(frozen=True, slots=True)
class Invocation:
    """What :meth:`SessionState.record_invocation` decided.

    ``duplicate`` is true when the same content is already in the conversation: the
    caller sends ``note`` instead of the content.
    """

    skill: InvokedSkill
    duplicate: bool = False
    note: str | None = None


@dataclass(frozen=True, slots=True)
class SkillAttachment:
    """A skill re-attached after a compaction; ``truncated`` when it was cut to fit."""

    name: str
    agent_id: str
    content: str
    tokens: int
    truncated: bool
    path: str | None = None


class SessionState:
    """The invoked skills of every agent of one session.

    Args:
        session_id: for the caller's bookkeeping.
        token_counter: counts tokens of a text (default :func:`estimate_tokens`); it
            must grow with the text, as truncation searches on it.
        clock: wall-clock time for ``invoked_at`` (inject one in tests).
    """

    def __init__(
        self,
        session_id: str = "",
        *,
        token_counter: TokenCounter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.session_id = session_id
        self._count_tokens: TokenCounter = token_counter or estimate_tokens
        self._clock = clock
        self._lock = threading.Lock()
        self._sequence = itertools.count(1)
        self._skills: dict[tuple[str, str], InvokedSkill] = {}

    def record_invocation(
        self,
        name: str,
        content: str,
        *,
        agent_id: str = MAIN_AGENT_ID,
        path: str | None = None,
    ) -> Invocation:
        """Remember that ``agent_id`` invoked ``name`` with this expanded content."""
        digest = hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()
        with self._lock:
            key = (agent_id, name)
            previous = self._skills.get(key)
            entry = InvokedSkill(
                name=name,
                agent_id=agent_id,
                content=content,
                digest=digest,
                sequence=next(self._sequence),
                invoked_at=self._clock(),
                path=path,
                count=previous.count + 1 if previous is not None else 1,
            )
            self._skills[key] = entry
        if previous is not None and previous.digest == digest and previous.in_context:
            note = (
                f'Skill "{name}" is already loaded above with the same content; '
                "follow those instructions (not repeated here)."
            )
            return Invocation(entry, duplicate=True, note=note)
        return Invocation(entry)

    def get(self, name: str, *, agent_id: str = MAIN_AGENT_ID) -> InvokedSkill | None:
        with self._lock:
            return self._skills.get((agent_id, name))

    def invoked_skills(self, agent_id: str = MAIN_AGENT_ID) -> list[InvokedSkill]:
        """The agent's invoked skills, most recent first."""
        with self._lock:
            entries = [s for (agent, _), s in self._skills.items() if agent == agent_id]
        return sorted(entries, key=lambda s: s.sequence, reverse=True)

    def agents(self) -> set[str]:
        """Agent ids that have invoked at least one skill."""
        with self._lock:
            return {agent for agent, _ in self._skills}

    def release_agent(self, agent_id: str) -> int:
        """Forget everything ``agent_id`` invoked (a fork that ended); returns how many."""
        with self._lock:
            doomed = [key for key in self._skills if key[0] == agent_id]
            for key in doomed:
                del self._skills[key]
        return len(doomed)

    @contextmanager
    def agent_scope(self, agent_id: str) -> Iterator[str]:
        """``with state.agent_scope(fork_id):`` releases the fork's entries on any exit."""
        try:
            yield agent_id
        finally:
            self.release_agent(agent_id)

    def compaction_attachments(
        self,
        agent_id: str = MAIN_AGENT_ID,
        *,
        per_skill_tokens: int = COMPACTION_SKILL_TOKENS,
        total_tokens: int = COMPACTION_TOTAL_TOKENS,
    ) -> list[SkillAttachment]:
        """What a compaction of ``agent_id``'s conversation re-attaches (no state change).

        Most recent first; each skill cut to ``per_skill_tokens`` (marked), and skills
        added while they fit in ``total_tokens``: one that does not fit is left out and
        smaller, older ones may still follow.
        """
        attachments: list[SkillAttachment] = []
        used = 0
        for skill in self.invoked_skills(agent_id):
            content, tokens, truncated = self._fit(skill, per_skill_tokens)
            if used + tokens > total_tokens:
                continue
            used += tokens
            attachments.append(
                SkillAttachment(skill.name, agent_id, content, tokens, truncated, skill.path)
            )
        return attachments

    def compact(
        self,
        agent_id: str = MAIN_AGENT_ID,
        *,
        per_skill_tokens: int = COMPACTION_SKILL_TOKENS,
        total_tokens: int = COMPACTION_TOTAL_TOKENS,
    ) -> list[SkillAttachment]:
        """:meth:`compaction_attachments`, and remember what the compacted conversation
        no longer holds in full, so re-invoking those skills sends their content again."""
        attachments = self.compaction_attachments(
            agent_id, per_skill_tokens=per_skill_tokens, total_tokens=total_tokens
        )
        whole = {a.name for a in attachments if not a.truncated}
        with self._lock:
            for (agent, name), skill in list(self._skills.items()):
                if agent == agent_id:
                    self._skills[agent, name] = replace(skill, in_context=name in whole)
        return attachments

    def _fit(self, skill: InvokedSkill, limit: int) -> tuple[str, int, bool]:
        tokens = self._count_tokens(skill.content)
        if tokens <= limit:
            return skill.content, tokens, False
        marker = (
            f"\n\n[... skill content truncated for compaction ({tokens} tokens, kept "
            f"{limit}); invoke the skill again"
            + (f" or read {skill.path}" if skill.path else "")
            + " for the full text]"
        )
        # The longest prefix that, with the marker, stays within the limit.
        low, high = 0, len(skill.content)
        if self._count_tokens is estimate_tokens:
            high = min(high, max(0, limit * CHARS_PER_TOKEN - len(marker)))
        while low < high:
            middle = (low + high + 1) // 2
            if self._count_tokens(skill.content[:middle] + marker) <= limit:
                low = middle
            else:
                high = middle - 1
        text = skill.content[:low] + marker
        return text, self._count_tokens(text), True


def render_attachments(attachments: list[SkillAttachment]) -> str:
    """The message a compacted conversation gets, so the agent keeps following its skills.

    Empty when there is nothing to re-attach.
    """
    if not attachments:
        return ""
    parts = ["Skills invoked earlier in this session; keep following their instructions:"]
    for attachment in attachments:
        where = f"\nPath: {attachment.path}" if attachment.path else ""
        parts.append(f"### Skill: {attachment.name}{where}\n\n{attachment.content}")
    return "\n\n".join(parts)
