#!/bin/sh
# PreToolUse hook: read the tool call as JSON on stdin; exit 2 (block) when a command
# touches production without --confirmed.
input=$(cat)
case "$input" in
  *production*)
    case "$input" in
      *--confirmed*) exit 0 ;;
      *) echo "production deploys need --confirmed" >&2; exit 2 ;;
    esac ;;
esac
exit 0
