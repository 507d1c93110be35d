#!/usr/bin/env bash
# Benchmarks that print their figures, each beside a baseline measured in
# the same run. Usage: scripts/bench.sh [store|mount|objects|serve]   (default: all)
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
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/franzfs" ./cmd/franzfs
if [[ $what == all || $what == mount ]]; then
	echo "### mount and archives (go run ./scripts/benchmount)"
	go run ./scripts/benchmount -franzfs "$bin/franzfs"
	echo
fi
if [[ $what == all || $what == objects ]]; then
	echo "### archives in object storage: versitygw on loopback vs local disk vs rclone mount + squashfuse (go run ./scripts/benchmount -only objects)"
	export PATH=$PATH:$(go env GOPATH)/bin # versitygw, as scripts/test.sh builds it
	command -v versitygw >/dev/null || go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
	command -v rclone >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rclone >/dev/null
	go run ./scripts/benchmount -franzfs "$bin/franzfs" -only objects -records 1000
	go run ./scripts/benchmount -franzfs "$bin/franzfs" -only objects -records 1000 -objects-comp zstd
	echo
fi
if [[ $what == all || $what == serve ]]; then
	echo "### the daemon: request paths vs minimal net/http handlers, ingest vs NATS JetStream and Redis (go run ./scripts/benchserve)"
	go run ./scripts/benchserve -franzfs "$bin/franzfs"
fi
