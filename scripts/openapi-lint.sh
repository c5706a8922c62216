#!/usr/bin/env bash
# Lints the OpenAPI document that GET /openapi.json serves with Redocly's
# recommended ruleset; fails on any error. The document is written by a Go
# test (no server, no data directory). Needs Node.js ≥ 20.19 and the npm
# registry (npx fetches the pinned CLI once into its cache); nothing else
# is reached: telemetry and update checks are off.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

# Pinned: a new CLI release can add rules. Bump deliberately.
REDOCLY_CLI_VERSION=2.77.0

if ! command -v npx >/dev/null 2>&1; then
  echo "openapi-lint: npx (Node.js ≥ 20.19) is required" >&2
  exit 1
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
doc="$dir/openapi.json"
ROSETTA_OPENAPI_OUT="$doc" go test -count=1 -run '^TestOpenAPIWriteFile$' ./httpapi >/dev/null
test -s "$doc"

export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1
# Run from the temporary directory so that no redocly.yaml elsewhere
# changes the ruleset: this is the default (recommended) one.
(cd "$dir" && npx --yes "@redocly/cli@$REDOCLY_CLI_VERSION" lint openapi.json)
