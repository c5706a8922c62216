#!/usr/bin/env bash
# Sets up a fresh machine to build, run and test Rosetta: checks Go,
# downloads the modules, builds ./rosetta. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_go="1.26"
if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    echo "setup: Go $need_go or newer is required (https://go.dev/dl/); install it to /usr/local/go" >&2
    exit 1
  fi
fi
have=$(go env GOVERSION | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$need_go" "$have" | sort -V | head -1)" != "$need_go" ]; then
  echo "setup: Go $need_go or newer is required, found $have" >&2
  exit 1
fi
go mod download
go build -o rosetta ./cmd/rosetta
echo "setup: built ./rosetta ($(go env GOVERSION), $(go env GOARCH))"
