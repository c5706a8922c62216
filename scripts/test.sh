#!/usr/bin/env bash
# The test suite: formatting, vet, all tests, and the race detector on the
# packages with concurrent code. Takes a few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" $unformatted >&2
  exit 1
fi
go vet ./...
# staticcheck, pinned (from the Go module proxy).
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
go test -count=1 ./...
# Concurrent code under the race detector (-short skips the 30k-node churn
# test, which takes minutes under -race).
go test -count=1 -race -short -timeout 30m ./index/...
go test -count=1 -race ./kernels/... ./internal/... ./encoders/tokenizer/... ./encoders/nn/... ./encoders/clip/... ./store/... ./engine/... ./httpapi/... ./ingest/... ./textindex/...
# The cluster (NATS JetStream, replicas, coordinators) under the race
# detector: the convergence, kill and distributed-ingest tests (the
# partition and rebalance tests run above, without it).
go test -count=1 -race -run 'TestClusterWriteSearchConverge|TestClusterKills|TestClusterDistributedIngest|TestApply' ./cluster/...
# Whisper's parallel attention heads (encoder and decoder steps) on the goldens.
go test -count=1 -race -run 'TestEncoderGolden|TestDecoderGolden' ./encoders/whisper/
# The OpenAPI document against Redocly's recommended rules (pinned CLI, from
# the npm registry).
bash scripts/openapi-lint.sh
