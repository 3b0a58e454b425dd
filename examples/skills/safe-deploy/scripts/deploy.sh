#!/bin/sh
# Stand-in deploy script for the example: prints what a real one would do.
set -eu
service="$1"; environment="${2:-staging}"; shift 2 || true
echo "deploy $service to $environment $*"
