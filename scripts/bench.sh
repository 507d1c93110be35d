#!/usr/bin/env bash
# Benchmarks that print their figures, each beside a baseline measured in
# the same run. Usage: scripts/bench.sh [store|mount]   (default: all)
# The mount benchmarks need FUSE; run as root for passthrough and for
# dropping caches between first reads.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

what=${1:-all}
if [[ $what == all || $what == store ]]; then
	echo "### store: append and read (go run ./scripts/benchstore)"
	go run ./scripts/benchstore
	echo
	echo "### store: Go benchmarks"
	go test ./store -run '^$' -bench . -benchtime 200000x
	echo
fi
if [[ $what == all || $what == mount ]]; then
	echo "### mount (go run ./scripts/benchmount)"
	bin=$(mktemp -d)
	trap 'rm -rf "$bin"' EXIT
	go build -o "$bin/franzfs" ./cmd/franzfs
	go run ./scripts/benchmount -franzfs "$bin/franzfs"
fi
