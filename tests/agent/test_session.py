"""Session state: invoked skills per agent, compaction budgets, forks, duplicates."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from skilld.agent.session import (
    COMPACTION_SKILL_TOKENS,
    COMPACTION_TOTAL_TOKENS,
    MAIN_AGENT_ID,
    SessionState,
    estimate_tokens,
    render_attachments,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 1
        return self.now


def test_the_budgets_are_claude_codes() -> None:
    assert (COMPACTION_SKILL_TOKENS, COMPACTION_TOTAL_TOKENS) == (5_000, 25_000)
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("") == 0


def test_invocations_are_keyed_by_agent_and_name() -> None:
    state = SessionState(clock=Clock())
    state.record_invocation("review", "main's review", path="/s/review/SKILL.md")
    state.record_invocation("review", "fork's review", agent_id="fork-1")
    state.record_invocation("review", "other fork's review", agent_id="fork-2")
    main = state.get("review")
    assert main is not None
    assert main.content == "main's review"
    assert main.agent_id == MAIN_AGENT_ID
    assert main.path == "/s/review/SKILL.md"
    fork = state.get("review", agent_id="fork-1")
    assert fork is not None
    assert fork.content == "fork's review"
    assert state.agents() == {MAIN_AGENT_ID, "fork-1", "fork-2"}


def test_the_most_recent_invocation_of_a_skill_replaces_the_older() -> None:
    clock = Clock()
    state = SessionState(clock=clock)
    state.record_invocation("deploy", "deploy v1")
    state.record_invocation("lint", "lint")
    again = state.record_invocation("deploy", "deploy v2")
    assert not again.duplicate
    assert [s.name for s in state.invoked_skills()] == ["deploy", "lint"]
    deploy = state.get("deploy")
    assert deploy is not None
    assert (deploy.content, deploy.count, deploy.invoked_at) == ("deploy v2", 2, clock.now)


def test_identical_content_gives_a_note_not_a_second_copy() -> None:
    state = SessionState()
    first = state.record_invocation("pdf", "How to fill PDFs")
    assert not first.duplicate
    assert first.note is None
    second = state.record_invocation("pdf", "How to fill PDFs")
    assert second.duplicate
    assert second.note is not None
    assert '"pdf"' in second.note
    assert "How to fill PDFs" not in second.note
    changed = state.record_invocation("pdf", "How to fill PDFs, v2")
    assert not changed.duplicate
    # The same content in another agent's conversation is not a duplicate for this one.
    assert not state.record_invocation("pdf", "How to fill PDFs, v2", agent_id="f").duplicate


def test_compaction_reattaches_most_recent_first() -> None:
    state = SessionState()
    for name in ("a", "b", "c"):
        state.record_invocation(name, f"content of {name}")
    state.record_invocation("a", "content of a, again")
    state.record_invocation("other", "not mine", agent_id="fork")
    attachments = state.compaction_attachments()
    assert [(a.name, a.content, a.truncated) for a in attachments] == [
        ("a", "content of a, again", False),
        ("c", "content of c", False),
        ("b", "content of b", False),
    ]
    assert [a.name for a in state.compaction_attachments("fork")] == ["other"]


def test_each_skill_is_cut_to_5000_tokens_and_marked() -> None:
    state = SessionState()
    state.record_invocation("big", "x" * 30_000, path="/skills/big/SKILL.md")
    (attachment,) = state.compaction_attachments()
    assert attachment.truncated
    assert attachment.tokens <= 5_000
    assert attachment.tokens == estimate_tokens(attachment.content)
    assert attachment.tokens >= 4_990  # cut close to the limit, not far below it
    assert attachment.content.startswith("x" * 19_000)
    assert "truncated for compaction" in attachment.content
    assert "/skills/big/SKILL.md" in attachment.content


def test_the_total_is_capped_at_25000_tokens() -> None:
    state = SessionState()
    for index in range(7):  # oldest first: s0 ... s6, each 5,000 tokens after cutting
        state.record_invocation(f"s{index}", "y" * 40_000)
    state.record_invocation("tiny-old", "t" * 40)
    state.record_invocation("s6", "y" * 40_000)  # most recent again
    attachments = state.compaction_attachments()
    # Most recent first: s6 and tiny-old, then s5, s4, s3 while ~5,000 tokens each fit.
    assert [a.name for a in attachments] == ["s6", "tiny-old", "s5", "s4", "s3"]
    assert all(a.truncated for a in attachments if a.name != "tiny-old")
    assert sum(a.tokens for a in attachments) <= 25_000


def test_a_skill_that_does_not_fit_is_skipped_and_older_small_ones_follow() -> None:
    state = SessionState()
    state.record_invocation("small", "s" * 400)  # 100 tokens, oldest
    state.record_invocation("medium", "m" * 3_600)  # 900 tokens
    state.record_invocation("large", "l" * 3_200)  # 800 tokens, newest
    attachments = state.compaction_attachments(per_skill_tokens=5_000, total_tokens=1_000)
    assert [a.name for a in attachments] == ["large", "small"]


def test_a_custom_token_counter_is_used_for_budgets_and_cuts() -> None:
    def words(text: str) -> int:
        return len(text.split())

    state = SessionState(token_counter=words)
    state.record_invocation("w", " ".join(["word"] * 100))
    (attachment,) = state.compaction_attachments(per_skill_tokens=50)
    assert attachment.truncated
    assert words(attachment.content) <= 50
    assert attachment.tokens == words(attachment.content)


def test_after_compaction_a_cut_or_dropped_skill_is_sent_again() -> None:
    state = SessionState()
    state.record_invocation("big", "b" * 30_000)
    state.record_invocation("small", "small skill")
    state.compact()
    assert state.record_invocation("small", "small skill").duplicate  # re-attached whole
    assert not state.record_invocation("big", "b" * 30_000).duplicate  # only a cut survived


def test_a_fork_is_released_when_it_ends_even_on_error() -> None:
    state = SessionState()
    state.record_invocation("shared", "main")

    def run_fork() -> None:
        with state.agent_scope("fork-9") as agent:
            state.record_invocation("shared", "fork", agent_id=agent)
            state.record_invocation("only-fork", "fork", agent_id=agent)
            assert state.agents() == {MAIN_AGENT_ID, "fork-9"}
            raise RuntimeError("the fork failed")

    with pytest.raises(RuntimeError):
        run_fork()
    assert state.agents() == {MAIN_AGENT_ID}
    main = state.get("shared")
    assert main is not None
    assert main.content == "main"
    assert state.release_agent("fork-9") == 0


def test_many_threads_share_one_session() -> None:
    state = SessionState()
    barrier = threading.Barrier(8)

    def agent(index: int) -> None:
        barrier.wait(timeout=10)
        for round_ in range(50):
            state.record_invocation(
                f"skill-{round_ % 5}", f"{index}:{round_}", agent_id=f"a{index}"
            )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(agent, range(8)))
    assert state.agents() == {f"a{i}" for i in range(8)}
    for index in range(8):
        skills = state.invoked_skills(f"a{index}")
        assert len(skills) == 5
        assert all(s.content.startswith(f"{index}:") and s.count == 10 for s in skills)
    sequences = [s.sequence for i in range(8) for s in state.invoked_skills(f"a{i}")]
    assert len(set(sequences)) == len(sequences)


async def test_concurrent_tasks_each_release_their_own_fork() -> None:
    state = SessionState()

    async def fork(agent_id: str) -> None:
        with state.agent_scope(agent_id):
            state.record_invocation("s", agent_id, agent_id=agent_id)
            await asyncio.sleep(0)
            current = state.get("s", agent_id=agent_id)
            assert current is not None
            assert current.content == agent_id

    await asyncio.gather(*(fork(f"f{i}") for i in range(20)))
    assert state.agents() == set()


def test_attachments_render_as_one_message() -> None:
    state = SessionState()
    state.record_invocation("lint", "Run ruff.", path="/s/lint/SKILL.md")
    state.record_invocation("test", "Run pytest.")
    text = render_attachments(state.compaction_attachments())
    assert text.index("### Skill: test") < text.index("### Skill: lint")
    assert "Path: /s/lint/SKILL.md\n\nRun ruff." in text
    assert "Run pytest." in text
    assert render_attachments([]) == ""
