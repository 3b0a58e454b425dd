#!/bin/sh
# Print the commits since the given tag (default: the latest one), one per line.
set -eu
since="${1:-$(git describe --tags --abbrev=0 2>/dev/null || true)}"
if [ -n "$since" ]; then
  git log --no-merges --format='%h %s (%an)' "$since..HEAD"
else
  git log --no-merges --format='%h %s (%an)'
fi
