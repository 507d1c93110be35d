#!/usr/bin/env bash
# Runs every test: vet, then the unit, crash, fuzz-seed and integration
# tests with the race detector. Integration tests mount for real where
# /dev/fuse exists (FRANZFS_REQUIRE_FUSE=1 makes its absence a failure).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
go vet ./...
go test -race -timeout 30m ./...
