#!/usr/bin/env bash
# The franzfs demo: builds franzfs, writes two streams, keeps a writer
# appending, mounts the streams, and shows a few commands with their output.
# On a terminal it then leaves the mount up until Ctrl-C; either way it
# unmounts and removes everything it made.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

if ! command -v fusermount3 >/dev/null && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
	echo "installing fuse3..."
	apt-get update -qq && apt-get install -y -qq fuse3 >/dev/null
fi

work=$(mktemp -d /tmp/franzfs-demo.XXXXXX)
live=$work/live mnt=$work/mnt bin=$work/franzfs
mkdir -p "$live" "$mnt"
writer= mounter=
cleanup() {
	[[ -n $writer ]] && kill "$writer" 2>/dev/null || true
	if [[ -n $mounter ]]; then
		kill -TERM "$mounter" 2>/dev/null || true
		wait "$mounter" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

go build -o "$bin" ./cmd/franzfs

# Two streams: application events with tags, sensor readings with an index.
for i in $(seq 1 20); do
	level=info tags=(--tag info)
	((i % 7 == 0)) && level=error tags=(--tag error)
	((i % 14 == 0)) && tags+=(--tag db)
	echo "{\"n\":$i,\"level\":\"$level\",\"msg\":\"request $i\"}" |
		"$bin" append --live "$live" "${tags[@]}" app/events >/dev/null
done
seq 15 25 | sed 's/$/.5 C/' | "$bin" append --live "$live" --lines --index temp=21 sensors/room1 >/dev/null

# A writer that keeps appending, as an application would.
(
	n=21
	while sleep 1; do
		echo "{\"n\":$n,\"level\":\"info\",\"msg\":\"request $n\"}" | "$bin" append --live "$live" --tag info app/events >/dev/null
		n=$((n + 1))
	done
) &
writer=$!

"$bin" mount --live "$live" --ready-file "$work/ready" "$mnt" >/dev/null &
mounter=$!
for _ in $(seq 100); do [[ -e $work/ready ]] && break; sleep 0.1; done
[[ -e $work/ready ]] || { echo "the mount did not come up"; exit 1; }

show() {
	printf '\n$ %s\n' "$*"
	(cd "$mnt" && eval "$@")
}
echo "franzfs demo: streams in $live, mounted at $mnt"
cd "$work"
show ls
show ls app/events
show cat app/events/seq/-1
show cat app/events/seq/0:2
show "cat app/events/tag/error"
show "cat app/events/query/error+db"
show "cat app/events/index/time/-1m: | wc -l"
show "grep -c request app/events/seq/0:"
show "head -c 120 app/events/stat.json; echo ..."
show "timeout 2.5 tail -n 1 -f app/events/seq/0: || true"

if [[ -t 0 ]]; then
	printf '\nThe mount stays at %s, with a writer appending every second.\n' "$mnt"
	printf 'Try: tail -f %s/app/events/follow    (Ctrl-C here ends the demo)\n' "$mnt"
	wait "$mounter"
fi
