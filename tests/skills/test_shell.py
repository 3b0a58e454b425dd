"""Quoting values into commands, splitting command lines, and running commands."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from skilld.skills.shell import (
    ResolvedShell,
    UnsafeValueError,
    quote_into,
    quote_states,
    reparsing_spans,
    resolve_shell,
    run_shell_command,
    simple_commands,
    tolerated_exit,
)

BASH = ResolvedShell("bash", (shutil.which("bash") or "/bin/bash", "-c"))
NASTY = "x; touch PWNED $(touch PWNED) `touch PWNED` ' \" \\ $HOME \n EOF\nEOF\n'\"'\"' ${IFS} !! *"


def fill(template: str, value: str, kind: str = "bash") -> str:
    """``template`` with ``§`` replaced by ``value`` quoted for its position."""
    at = template.index("§")
    states = quote_states(template.replace("§", "X"), kind)  # type: ignore[arg-type]
    return template[:at] + quote_into(value, states[at], kind) + template[at + 1 :]  # type: ignore[arg-type]


def run_bash(command: str, cwd: Path) -> str:
    done = subprocess.run(
        [BASH.argv[0], "-c", command], cwd=cwd, capture_output=True, text=True, check=False
    )
    return done.stdout


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("printf %s §", "{v}"),
        ('printf %s "§"', "{v}"),
        ('printf %s "<§>"', "<{v}>"),
        ("printf %s '§'", "{v}"),
        ("printf %s '<§>'", "<{v}>"),
        ("printf %s $'<§>'", "<{v}>"),
        ("printf %s --opt=§", "--opt={v}"),
        ('printf %s "$(printf %s "§")"', "{v}"),
        ('printf %s "$(printf %s §)"', "{v}"),
        ("printf %s \"`printf %s '§'`\"", "{v}"),
        ('printf %s "`printf %s "§"`"', "{v}"),
        ("printf %s 'it''s' §", "its{v}"),
        ("echo start # a comment with § in it\necho end", "start\nend\n"),
    ],
)
def test_a_value_is_one_literal_word_wherever_it_lands(
    template: str, expected: str, tmp_path: Path
) -> None:
    output = run_bash(fill(template, NASTY), tmp_path)
    assert output == expected.replace("{v}", NASTY)
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("delimiter", ["EOF", "'EOF'", '"EOF"', "\\EOF"])
def test_heredoc_values_cannot_end_the_heredoc(delimiter: str, tmp_path: Path) -> None:
    command = fill(f"cat <<{delimiter}\nvalue=§\nEOF\necho after", NASTY)
    output = run_bash(command, tmp_path)
    assert output == "value=" + NASTY.replace("\n", " ") + "\nafter\n"
    assert not (tmp_path / "PWNED").exists()


def test_an_empty_value_outside_quotes_disappears(tmp_path: Path) -> None:
    assert fill("ls §", "") == "ls "
    assert fill('echo "[§]"', "") == 'echo "[]"'


def test_plain_values_stay_readable() -> None:
    assert fill("git log §", "main") == "git log main"
    assert fill("git log §", "a b") == "git log 'a b'"


@pytest.mark.parametrize(
    "template",
    [
        "echo $(( § + 1 ))",
        'echo "$(( § + 1 ))"',
        "(( § > 1 )) && echo big",
        "[[ § -eq 1 ]] && echo one",
        '[[ "§" == x ]]',
        'echo "${arr[§]}"',
        "echo ${x:-§}",
    ],
)
def test_evaluating_contexts_refuse_expansion_characters(template: str, tmp_path: Path) -> None:
    for value in ("a[$(touch PWNED)]", "a[`touch PWNED`]"):
        with pytest.raises(UnsafeValueError, match="bash evaluates it"):
            fill(template, value)
    assert fill(template, "7").replace("7", "§") == template


@pytest.mark.parametrize(
    ("command", "reparses"),
    [
        ("eval echo X", True),
        ('echo a; eval "echo X"', True),
        ("sh -c 'echo X'", True),
        ('sudo bash -lc "echo X"', True),
        ("find . -exec sh -c 'echo X' \\;", True),
        ("ssh host ls X", True),
        ("echo $(eval echo X)", True),
        ("bash script.sh X", False),
        ("grep -c X file", False),
        ("git -c core.x=1 log X", False),
        ("echo X", False),
    ],
)
def test_commands_that_parse_their_arguments_again(command: str, reparses: bool) -> None:
    at = command.index("X")
    inside = any(start <= at < end for start, end in reparsing_spans(command))
    assert inside is reparses


def test_reparsed_values_must_be_plain_words(tmp_path: Path) -> None:
    states = quote_states("eval echo X")[10]
    assert quote_into("v1.2/x", states, reparsed=True) == "v1.2/x"
    with pytest.raises(UnsafeValueError, match="plain word"):
        quote_into("x; touch PWNED", states, reparsed=True)


def test_arithmetic_with_a_plain_number_runs(tmp_path: Path) -> None:
    assert run_bash(fill("echo $(( § + 1 ))", "41"), tmp_path) == "42\n"
    assert run_bash(fill("[[ § -eq 3 ]] && echo three", "3"), tmp_path) == "three\n"


def test_quote_states_track_nesting() -> None:
    command = "a \"b $(c 'd') e\" `f` # g"
    states = quote_states(command)
    assert states[command.index("a")] == ("plain",)
    assert states[command.index("b")] == ("plain", "dq")
    assert states[command.index("c")] == ("plain", "dq", "plain")
    assert states[command.index("d")] == ("plain", "dq", "plain", "sq")
    assert states[command.index("e")] == ("plain", "dq")
    assert states[command.index("f")] == ("plain", "backtick")
    assert states[command.index("g")] == ("plain", "comment")


@pytest.mark.parametrize(
    ("template", "state"),
    [
        ("Write-Output §", "plain"),
        ("Write-Output '§'", "sq"),
        ('Write-Output "§"', "dq"),
        ('Write-Output "$(Get-Item §)"', "plain"),
        ("Write-Output @'\n§\n'@", "heredoc-raw"),
        ('Write-Output @"\n§\n"@', "heredoc"),
        ("Write-Output 1 # §", "comment"),
        ("<# § #> Write-Output 1", "block-comment"),
    ],
)
def test_powershell_states(template: str, state: str) -> None:
    at = template.index("§")
    assert quote_states(template, "powershell")[at][-1] == state


def test_powershell_quoting() -> None:
    value = 'it\'s "$x" `n; rm'
    assert quote_into(value, ("plain",), "powershell") == "'it''s \"$x\" `n; rm'"
    assert quote_into(value, ("plain", "sq"), "powershell") == "it''s \"$x\" `n; rm"
    assert quote_into(value, ("plain", "dq"), "powershell") == 'it\'s `"`$x`" ``n; rm'
    assert quote_into("a\nb", ("plain", "comment"), "powershell") == "a b"
    assert quote_into("a #> b", ("plain", "block-comment"), "powershell") == "a # > b"
    assert quote_into("", ("plain",), "powershell") == ""


@pytest.mark.skipif(not shutil.which("pwsh"), reason="PowerShell is not installed")
def test_powershell_values_run_literally(tmp_path: Path) -> None:  # pragma: no cover
    for template in ("Write-Output §", "Write-Output '<§>'", 'Write-Output "<§>"'):
        command = fill(template, "x'; New-Item PWNED; '\"$(New-Item PWNED)\"", "powershell")
        subprocess.run(["pwsh", "-NoProfile", "-Command", command], cwd=tmp_path, check=False)
        assert not (tmp_path / "PWNED").exists()


def test_simple_commands_split_at_top_level_only() -> None:
    line = 'a && b | c; d "x;y" $(e;f) # g; h\nk & l |& m 2>&1'
    assert simple_commands(line) == [
        ("", "a"),
        ("&&", "b"),
        ("|", "c"),
        (";", 'd "x;y" $(e;f) # g; h'),
        ("\n", "k"),
        ("&", "l"),
        ("|", "m 2>&1"),
    ]


@pytest.mark.parametrize(
    ("command", "code", "ok"),
    [
        ("true", 0, True),
        ("false", 1, False),
        ("grep x file", 1, True),
        ("cat file | grep x", 1, True),
        ("LC_ALL=C /usr/bin/grep x file", 1, True),
        ("rg pattern", 1, True),
        ("diff a b", 1, True),
        ("cmp a b", 1, True),
        ("test -f x", 1, True),
        ("[ -f x ]", 1, True),
        ("test -f x && echo yes", 1, True),
        ("grep x file; false", 1, False),
        ("grep x file", 2, False),
        ("make", 1, False),
    ],
)
def test_exit_one_of_search_and_compare_commands_is_no_failure(
    command: str, code: int, ok: bool
) -> None:
    assert tolerated_exit(command, code) is ok


def test_resolve_shell_defaults_to_bash() -> None:
    assert resolve_shell(None).kind == "bash"
    assert resolve_shell("bash").kind == "bash"
    expected = "powershell" if shutil.which("pwsh") or shutil.which("powershell") else "bash"
    assert resolve_shell("powershell").kind == expected


async def test_run_merges_stderr_in_the_working_directory(tmp_path: Path) -> None:
    result = await run_shell_command("pwd; echo err >&2; exit 3", shell=BASH, cwd=tmp_path)
    assert result.output == f"{tmp_path}\nerr"
    assert result.exit_code == 3
    assert not result.truncated
    assert result.duration > 0


async def test_output_over_the_cap_goes_to_a_file(tmp_path: Path) -> None:
    result = await run_shell_command(
        "seq 1 20000",
        shell=BASH,
        cwd=tmp_path,
        output_cap=1000,
        preview_chars=10,
        overflow_dir=tmp_path / "overflow",
    )
    full = "\n".join(str(i) for i in range(1, 20001)) + "\n"
    assert result.truncated
    assert result.overflow_path is not None
    assert result.overflow_path.parent == tmp_path / "overflow"
    assert result.overflow_path.read_text() == full
    assert result.output == (
        "1\n2\n3\n4\n5\n"
        f"\n... [output truncated: {len(full)} bytes in total; "
        f"full output saved to {result.overflow_path}]"
    )


async def test_output_just_over_the_cap_in_characters(tmp_path: Path) -> None:
    result = await run_shell_command(
        "printf 'ab%.0s' $(seq 1 30)",
        shell=BASH,
        cwd=tmp_path,
        output_cap=50,
        preview_chars=4,
        overflow_dir=tmp_path,
    )
    assert result.truncated
    assert result.output.startswith("abab\n... [output truncated: 60 bytes")


async def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    result = await run_shell_command(
        f"sleep 30 & echo $! > {pid_file}; echo started; wait",
        shell=BASH,
        cwd=tmp_path,
        timeout=0.5,
    )
    assert result.timed_out
    assert result.exit_code is None
    assert result.output == "started"
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(child):
        await asyncio.sleep(0.01)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie waiting for its new parent to reap it is dead for our purpose.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except OSError:
        return False


async def test_missing_shell_raises_oserror(tmp_path: Path) -> None:
    missing = ResolvedShell("bash", (str(tmp_path / "no-such-shell"), "-c"))
    with pytest.raises(FileNotFoundError):
        await run_shell_command("true", shell=missing, cwd=tmp_path)
