"""The decision chain: :class:`PermissionEngine` decides tool uses and skill invocations."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from skilld.permissions.decisions import AskCallback, PermissionDecision, PermissionRequest
from skilld.permissions.paths import compile_path, relative_to
from skilld.permissions.rules import (
    ALIASES,
    EDIT_TOOLS,
    PRECEDENCE,
    READ_TOOLS,
    SHELL_TOOLS,
    PermissionRule,
    RuleSource,
    escape_specifier,
)
from skilld.permissions.shell import SimpleCommand, Unanalysable, dequoted, simple_commands
from skilld.permissions.shell_patterns import has_unescaped_star, match_shell_pattern
from skilld.permissions.skills import (
    FIELD_LABELS,
    match_skill,
    skill_allow_rule,
    skill_unsafe_fields,
)
from skilld.skills.model import Skill

__all__ = ["PermissionEngine"]


class PermissionEngine:
    """Decides tool uses and skill invocations from a set of rules.

    Args:
        rules: the rules, in any order (they are sorted by precedence).
        cwd: the working directory: relative paths and ``./`` patterns are under it.
        home: the folder ``~`` stands for.
        additional_dirs: more folders the read-only tools may read without asking.
        managed_only: only managed rules count (``allowManagedPermissionRulesOnly``).
    """

    def __init__(
        self,
        rules: Iterable[PermissionRule] = (),
        *,
        cwd: str | os.PathLike[str] | None = None,
        home: str | os.PathLike[str] | None = None,
        additional_dirs: Iterable[str | os.PathLike[str]] = (),
        managed_only: bool = False,
    ) -> None:
        self.cwd = posixpath.normpath(os.fspath(cwd) if cwd is not None else os.getcwd())
        self.home = posixpath.normpath(
            os.fspath(home) if home is not None else os.path.expanduser("~")
        )
        self.additional_dirs = tuple(self._absolute(os.fspath(d)) for d in additional_dirs)
        self.managed_only = managed_only
        kept = [r for r in rules if not managed_only or r.source is RuleSource.MANAGED]
        self.rules: tuple[PermissionRule, ...] = tuple(
            sorted(kept, key=lambda r: PRECEDENCE[r.source])
        )

    def with_rules(self, rules: Iterable[PermissionRule]) -> PermissionEngine:
        """A new engine with ``rules`` added (for a session that learns new rules)."""
        return PermissionEngine(
            [*self.rules, *rules],
            cwd=self.cwd,
            home=self.home,
            additional_dirs=self.additional_dirs,
            managed_only=self.managed_only,
        )

    def __repr__(self) -> str:
        return f"PermissionEngine({len(self.rules)} rules, cwd={self.cwd!r})"

    # ----------------------------------------------------------------- public checks

    def check_tool(
        self,
        tool: str,
        tool_input: Mapping[str, Any],
        *,
        extra_allow: Sequence[str | PermissionRule] = (),
    ) -> PermissionDecision:
        """Decide one tool use: deny, then ask, then allow rules, then the tool's default.

        ``extra_allow`` holds allow rules that hold for this call only (a running skill's
        ``allowed-tools``). The default is allow for read-only tools inside the working
        directories and ask for everything else; the result may therefore be ``ask``.
        """
        tool = ALIASES.get(tool, tool)
        rules = self._rules_with(extra_allow)
        if tool in SHELL_TOOLS:
            return self._check_shell(tool, str(tool_input.get("command", "")), rules)
        for behavior in ("deny", "ask"):
            for rule in rules:
                if rule.behavior == behavior and self._matches(rule, tool, tool_input):
                    return self._by_rule(rule, tool, tool_input)
        for rule in rules:
            if rule.behavior == "allow" and self._matches(rule, tool, tool_input):
                return self._by_rule(rule, tool, tool_input)
        if tool in READ_TOOLS:
            for rule in rules:  # an allowed edit implies an allowed read
                if (
                    rule.behavior == "allow"
                    and rule.tool == "Edit"
                    and self._matches(rule, "Edit", tool_input)
                ):
                    return self._by_rule(rule, tool, tool_input)
            path = self._tool_path(tool, tool_input)
            if path is not None and self._in_working_dirs(path):
                return PermissionDecision(
                    "allow", f"{tool} inside the working directory needs no permission"
                )
        suggestion = self._suggestion(tool, tool_input)
        return PermissionDecision(
            "ask",
            f"{self._describe(tool, tool_input)} needs permission; "
            f"the rule {suggestion} in permissions.allow would allow it",
            suggestions=(suggestion,),
        )

    def check_shell(
        self,
        command: str,
        *,
        extra_allow: Sequence[str | PermissionRule] = (),
        tool: str = "Bash",
    ) -> PermissionDecision:
        """Decide one shell command (what inline ``!`cmd``` and the Bash tool run)."""
        return self._check_shell(tool, command, self._rules_with(extra_allow))

    def check_skill(
        self,
        skill: Skill,
        *,
        ask: AskCallback | None = None,
    ) -> PermissionDecision:
        """Decide whether ``skill`` may be invoked: the chain in the module doc.

        The result is always ``allow`` or ``deny``: an ``ask`` goes to the callback, and
        with no callback becomes a deny whose message names the rule that would allow it.
        """
        name = skill.name.removeprefix("/")
        tool_input = {"skill": name}
        for behavior in ("deny", "ask", "allow"):
            for rule in self.rules:
                if rule.behavior == behavior and self._matches(rule, "Skill", tool_input):
                    if behavior == "deny":
                        return PermissionDecision(
                            "deny",
                            f"Skill {name} is denied by the rule {rule} ({rule.where})",
                            str(rule),
                            rule.origin,
                        )
                    if behavior == "allow":
                        return PermissionDecision(
                            "allow",
                            f"Skill {name} is allowed by the rule {rule} ({rule.where})",
                            str(rule),
                            rule.origin,
                        )
                    return self._ask_skill(
                        skill,
                        ask,
                        f"Skill {name} needs confirmation: the rule {rule} ({rule.where}) "
                        "asks before it runs",
                        rule,
                    )
        unsafe = skill_unsafe_fields(skill)
        if not unsafe:
            return PermissionDecision("allow", f"Skill {name} sets only safe properties")
        reasons = ", ".join(FIELD_LABELS.get(f, f) for f in unsafe)
        return self._ask_skill(
            skill, ask, f"Skill {name} needs permission because it declares {reasons}", None
        )

    # ----------------------------------------------------------------- internals

    def _ask_skill(
        self,
        skill: Skill,
        ask: AskCallback | None,
        message: str,
        rule: PermissionRule | None,
    ) -> PermissionDecision:
        name = skill.name.removeprefix("/")
        suggestions = (f"Skill({name})", f"Skill({name}:*)")
        if ask is None:
            if rule is not None:
                hint = "; remove that ask rule or add an allow rule the host can confirm"
            else:
                hint = (
                    f"; add the rule Skill({name}) to permissions.allow "
                    f"(or pass --allow 'Skill({name})') to allow it"
                )
            return PermissionDecision(
                "deny",
                message + hint,
                str(rule) if rule else None,
                rule.origin if rule else None,
                suggestions,
            )
        request = PermissionRequest(
            "Skill", {"skill": name}, message, suggestions, str(rule) if rule else None, skill
        )
        answer = ask(request)
        if isinstance(answer, PermissionDecision):
            return answer
        if answer:
            return PermissionDecision("allow", f"Skill {name} was allowed when asked")
        return PermissionDecision("deny", f"Skill {name} was denied when asked")

    def _rules_with(self, extra: Sequence[str | PermissionRule]) -> tuple[PermissionRule, ...]:
        if not extra or self.managed_only:
            return self.rules
        parsed = [
            item if isinstance(item, PermissionRule) else skill_allow_rule(item) for item in extra
        ]
        return (*self.rules, *parsed)

    def _by_rule(
        self, rule: PermissionRule, tool: str, tool_input: Mapping[str, Any]
    ) -> PermissionDecision:
        what = self._describe(tool, tool_input)
        if rule.behavior == "ask":
            message = f"{what} needs confirmation: the rule {rule} ({rule.where}) asks first"
        else:
            verb = "allowed" if rule.behavior == "allow" else "denied"
            message = f"{what} is {verb} by the rule {rule} ({rule.where})"
        return PermissionDecision(rule.behavior, message, str(rule), rule.origin)

    def _check_shell(
        self, tool: str, command: str, rules: tuple[PermissionRule, ...]
    ) -> PermissionDecision:
        tool_input = {"command": command}
        stripped = command.strip()
        try:
            simples: tuple[SimpleCommand, ...] | None = simple_commands(stripped)
        except Unanalysable:
            simples = None
        deny_texts = {stripped}
        if simples is not None:
            deny_texts.update(s.deny_text for s in simples if s.deny_text)
            deny_texts.update(s.allow_text for s in simples)
            # quoting cannot hide a command from a deny rule: 'r"m" -rf' is rm -rf
            deny_texts.update(plain for t in list(deny_texts) if (plain := dequoted(t)) is not None)
        for behavior in ("deny", "ask"):
            for rule in rules:
                if rule.behavior != behavior or not rule.covers_tool(tool):
                    continue
                if rule.specifier is None or any(
                    match_shell_pattern(rule.specifier, t) for t in deny_texts
                ):
                    return self._by_rule(rule, tool, tool_input)
        allows = [r for r in rules if r.behavior == "allow" and r.covers_tool(tool)]
        for rule in allows:
            if rule.specifier is None:
                return self._by_rule(rule, tool, tool_input)
        for rule in allows:  # an exact rule for the whole line, as Claude Code checks first
            assert rule.specifier is not None
            exact = not rule.specifier.endswith(":*") and not has_unescaped_star(rule.specifier)
            if exact and stripped == rule.specifier.strip():
                return self._by_rule(rule, tool, tool_input)
        if simples is None:
            return PermissionDecision(
                "ask",
                f"{tool} command {stripped!r} cannot be analysed (case, function definitions "
                "or unterminated quotes), so no pattern rule can allow it",
                suggestions=(f"{tool}({escape_specifier(stripped)})",),
            )
        used: list[PermissionRule] = []
        missing: list[str] = []
        for simple in simples:
            rule_found = next(
                (r for r in allows if match_shell_pattern(r.specifier or "", simple.allow_text)),
                None,
            )
            if rule_found is None:
                missing.append(simple.allow_text)
            elif rule_found not in used:
                used.append(rule_found)
        if not missing:
            if not used:
                return PermissionDecision("allow", f"{tool} command runs nothing")
            first = used[0]
            names = ", ".join(str(r) for r in used)
            wheres = ", ".join(dict.fromkeys(r.where for r in used))
            return PermissionDecision(
                "allow",
                f"{tool} command {stripped!r} is allowed by the "
                f"{'rule' if len(used) == 1 else 'rules'} {names} ({wheres})",
                str(first) if len(used) == 1 else names,
                first.origin,
            )
        suggestions = tuple(f"{tool}({escape_specifier(m)})" for m in dict.fromkeys(missing))
        listed = ", ".join(suggestions)
        return PermissionDecision(
            "ask",
            f"{tool} command {stripped!r} needs permission; "
            f"{'the rule' if len(suggestions) == 1 else 'the rules'} {listed} "
            "in permissions.allow (or the skill's allowed-tools) would allow it",
            suggestions=suggestions,
        )

    def _matches(self, rule: PermissionRule, tool: str, tool_input: Mapping[str, Any]) -> bool:
        if not rule.covers_tool(tool):
            return False
        if rule.specifier is None:
            return True
        spec = rule.specifier
        if tool in SHELL_TOOLS:
            return match_shell_pattern(spec, str(tool_input.get("command", "")).strip())
        if tool == "Skill":
            return match_skill(spec, str(tool_input.get("skill", "")).removeprefix("/"))
        if rule.tool in READ_TOOLS or rule.tool in EDIT_TOOLS:
            path = self._tool_path(tool, tool_input)
            return path is not None and self._match_path(rule, path)
        if tool == "WebFetch":
            host = urlsplit(str(tool_input.get("url", ""))).hostname or ""
            domain = spec[len("domain:") :].strip().lower()
            if domain.startswith("*."):
                return host.endswith(domain[1:])
            return host == domain
        if tool == "Agent":
            return str(tool_input.get("subagent_type", "")) == spec
        return False

    def _match_path(self, rule: PermissionRule, path: str) -> bool:
        anchor, spec = compile_path(rule.specifier or "")
        base = {
            "absolute": "/",
            "home": self.home,
            "root": posixpath.normpath(rule.root) if rule.root else self.cwd,
            "cwd": self.cwd,
        }[anchor]
        relative = relative_to(path, base)
        return relative is not None and spec.match_file(relative)

    def _absolute(self, path: str) -> str:
        if path == "~" or path.startswith("~/"):
            path = self.home + path[1:]
        if not path.startswith("/"):
            path = posixpath.join(self.cwd, path)
        return posixpath.normpath(path)

    def _tool_path(self, tool: str, tool_input: Mapping[str, Any]) -> str | None:
        for key in ("file_path", "notebook_path", "path"):
            value = tool_input.get(key)
            if isinstance(value, str) and value:
                return self._absolute(value)
        if tool in ("Grep", "Glob", "LS"):
            return self.cwd  # no path: the working directory
        return None

    def _in_working_dirs(self, path: str) -> bool:
        for base in (self.cwd, *self.additional_dirs):
            if path == base or path.startswith(base.rstrip("/") + "/"):
                return True
        return False

    def _describe(self, tool: str, tool_input: Mapping[str, Any]) -> str:
        if tool in SHELL_TOOLS:
            return f"{tool} command {str(tool_input.get('command', '')).strip()!r}"
        if tool == "Skill":
            return f"Skill {tool_input.get('skill', '')}"
        path = self._tool_path(tool, tool_input)
        if path is not None and (tool in READ_TOOLS or tool in EDIT_TOOLS):
            return f"{tool} of {path}"
        if tool == "WebFetch":
            return f"WebFetch of {tool_input.get('url', '')}"
        return f"Tool {tool}"

    def _suggestion(self, tool: str, tool_input: Mapping[str, Any]) -> str:
        if tool == "Skill":
            return f"Skill({tool_input.get('skill', '')})"
        path = self._tool_path(tool, tool_input)
        if path is not None and (tool in READ_TOOLS or tool in EDIT_TOOLS):
            group = "Read" if tool in READ_TOOLS else "Edit"
            relative = relative_to(path, self.cwd)
            if relative is not None:
                return f"{group}(./{escape_specifier(relative)})"
            return f"{group}(/{escape_specifier(path)})"  # '//' + an absolute path
        if tool == "WebFetch":
            host = urlsplit(str(tool_input.get("url", ""))).hostname or ""
            return f"WebFetch(domain:{host})"
        return tool
