#!/usr/bin/env bash
# Runs every test: vet, then the unit, crash, fuzz-seed and integration
# tests with the race detector. Integration tests mount for real where
# /dev/fuse exists (FRANZFS_REQUIRE_FUSE=1 makes its absence a failure), and
# read and write object storage on versitygw (FRANZFS_REQUIRE_S3=1 likewise).
# As root on Debian, it first installs the tools the tests use if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
	for tool in fusermount3 mksquashfs squashfuse jq curl systemd-analyze; do
		if ! command -v "$tool" >/dev/null; then
			apt-get update -qq
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fuse3 squashfs-tools squashfuse jq curl systemd >/dev/null
			break
		fi
	done
fi
# The object storage tests run against versitygw, a real S3 server over a
# folder; built once into Go's bin directory (about 4 minutes), then kept.
gobin=$(go env GOPATH)/bin
export PATH=$PATH:$gobin
if ! command -v versitygw >/dev/null; then
	echo "building versitygw (an S3 server for the tests), once: about 4 minutes" >&2
	go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi
go vet ./...
# -count=1: the integration tests build the binary themselves, which the
# test cache cannot see; a cached pass could hide a change to any package.
go test -race -count=1 -timeout 30m ./...
