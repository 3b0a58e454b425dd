"""Permission rules, how they match, and the decision chain for tools and skills.

Pure: nothing here reads a file or runs a process (the settings files are read by
:mod:`skilld.permission_settings`). The semantics follow Claude Code's; where it had to
choose, this module says so.

Grammar
    ``Tool`` matches every use of a tool (``Tool(*)`` and ``Tool()`` mean the same).
    ``Tool(specifier)`` matches some uses; what the specifier means depends on the tool:

    * ``Bash(npm test)``: exactly that command. ``Bash(npm run test:*)``: the legacy
      prefix form, the command is the prefix or starts with the prefix and a space (so
      ``Bash(ls:*)`` never matches ``lsof``). ``Bash(git * main)``: ``*`` matches any
      run of characters (``\\*`` a literal star); when the only star ends the pattern
      after a space, the space and what follows are optional: ``Bash(ls *)`` matches
      ``ls`` and ``ls -la`` but not ``lsof``, while ``Bash(ls*)`` matches all three.
    * Compound commands (``a && b``, ``a; b``, ``a | b``, ``a || b``, ``a & b``,
      newlines, subshells) are split, and so are the commands inside ``$(...)``,
      backticks and ``<(...)``: an allow needs *every* simple command allowed (by any
      allow rules), a deny or ask rule needs *one*. Before matching, fd duplications and
      redirections to ``/dev/null`` (``2>&1``, ``>/dev/null``) are dropped, and so are
      the wrappers ``timeout``, ``time``, ``nice``, ``nohup`` and ``stdbuf``; a leading
      variable assignment is dropped when the variable is harmless (``NODE_ENV=test``)
      for allow rules and always for deny and ask rules, so ``FOO=1 rm -rf x`` is still
      caught by ``Bash(rm *)``; deny and ask rules also see the command with its quoting
      removed, so ``r"m" -rf x`` is caught too. A command this module cannot analyse
      (``case``, ``function``, ``select``, an unterminated quote or substitution, more
      than 16 levels of nesting) is never allowed by a pattern, only by a bare ``Bash``.
    * ``Read(path)``, ``Edit(path)``, ``Write(path)``: gitignore-style patterns.
      ``//abs/path`` is absolute, ``~/path`` is under the home directory, ``/path`` is
      relative to the rule's root (the folder its settings file belongs to: the project
      for project and local settings, ``~/.claude`` for user settings, the managed
      directory for managed settings, the working directory for caller rules), ``./path``
      is anchored to the working directory, and a bare ``path`` (``*.env``) matches at
      any depth below the working directory. ``Read`` rules cover the read-only file
      tools (Read, Grep, Glob, LS, NotebookRead), ``Edit`` rules every tool that writes
      files (Edit, Write, MultiEdit, NotebookEdit), ``Write`` rules Write alone; an
      allowed edit implies an allowed read, as in Claude Code.
    * ``Skill(name)`` matches that skill (a leading ``/`` is ignored); ``Skill(name:*)``
      and ``Skill(name *)`` match every skill whose name starts with ``name`` (raw
      prefix, as Claude Code's ``:*`` for skills); any other ``*`` is a wildcard.
    * ``WebFetch(domain:example.com)`` matches that host (``domain:*.example.com``
      its subdomains), ``Agent(name)`` (alias ``Task``) a sub-agent type;
      ``mcp__server`` and ``mcp__server__*`` every tool of an MCP server.
    * A specifier on any other tool is kept but matches nothing.

Sources and precedence
    managed > caller > local > project > user > skill (a running skill's
    ``allowed-tools``). Rules are checked deny, then ask, then allow, each across every
    source from the highest, so a deny anywhere beats an allow and nothing below managed
    can loosen a managed deny or ask. With ``managed_only`` (Claude Code's
    ``allowManagedPermissionRulesOnly``) only managed rules count.

Decision for a tool use
    deny rules, ask rules, allow rules (plus the ``extra_allow`` rules of a running
    skill: its ``allowed-tools``), then the default: allow for the read-only file tools
    inside the working directory and the additional directories, ask for the rest.

Decision chain for a skill
    deny rules, ask rules, allow rules, then an automatic allow when every property the
    skill sets is on a whitelist (:data:`SAFE_SKILL_FIELDS`: any new field, ``hooks``,
    ``allowed-tools`` or a non-default ``shell`` means it needs a decision), then ask:
    the host's callback, or, with none, a deny whose message names the rule that would
    allow it.

Modules
    :mod:`~skilld.permissions.rules` (the grammar and :class:`PermissionRule`),
    :mod:`~skilld.permissions.shell` (command lines cut into simple commands),
    :mod:`~skilld.permissions.shell_patterns` (``Bash(...)`` specifiers against one
    command), :mod:`~skilld.permissions.paths` (file-tool patterns),
    :mod:`~skilld.permissions.skills` (what needs a decision, ``Skill(...)`` rules),
    :mod:`~skilld.permissions.decisions` (what the engine answers and asks) and
    :mod:`~skilld.permissions.engine` (the decision chain). Everything public is
    re-exported here; import it from ``skilld.permissions``.
"""

from skilld.permissions.decisions import (
    AskCallback,
    PermissionDecision,
    PermissionRequest,
    ShellPermissionChecker,
)
from skilld.permissions.engine import PermissionEngine
from skilld.permissions.rules import (
    EDIT_TOOLS,
    READ_TOOLS,
    PermissionBehavior,
    PermissionRule,
    RuleSource,
    parse_rule,
)
from skilld.permissions.shell import SAFE_ENV_VARS, split_shell_command
from skilld.permissions.shell_patterns import match_shell_pattern
from skilld.permissions.skills import SAFE_SKILL_FIELDS, skill_unsafe_fields

__all__ = [
    "EDIT_TOOLS",
    "READ_TOOLS",
    "SAFE_ENV_VARS",
    "SAFE_SKILL_FIELDS",
    "AskCallback",
    "PermissionBehavior",
    "PermissionDecision",
    "PermissionEngine",
    "PermissionRequest",
    "PermissionRule",
    "RuleSource",
    "ShellPermissionChecker",
    "match_shell_pattern",
    "parse_rule",
    "skill_unsafe_fields",
    "split_shell_command",
]
