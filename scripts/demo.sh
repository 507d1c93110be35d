#!/usr/bin/env bash
# The franzfs demo: builds franzfs, starts the writer daemon and a mount on
# temporary directories, writes a few streams with times and tags over
# HTTP, keeps a writer appending, archives a stream, and shows a few
# commands with their output. On a terminal it then leaves everything
# running until Ctrl-C; either way it stops the daemon, unmounts and
# removes everything it made.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
	for tool in fusermount3 curl; do
		if ! command -v "$tool" >/dev/null; then
			echo "installing fuse3 and curl..."
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fuse3 curl >/dev/null
			break
		fi
	done
fi

work=$(mktemp -d /tmp/franzfs-demo.XXXXXX)
live=$work/live archive=$work/archive mnt=$work/mnt bin=$work/franzfs
mkdir -p "$live" "$archive" "$mnt"
pids=()
cleanup() {
	# The writer first, then the mount and the daemon, which end on SIGTERM.
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	mountpoint -q "$mnt" && umount -l "$mnt"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

go build -o "$bin" ./cmd/franzfs

# The writer daemon, on a free loopback port.
"$bin" serve --live "$live" --listen 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.log" &
pids+=($!)
for _ in $(seq 100); do grep -q '^ready: ' "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's/^ready: //p' "$work/serve.out")
[[ -n $addr ]] || { echo "the daemon did not come up: $(cat "$work/serve.log")"; exit 1; }
url=http://$addr
post() { curl -sSf --data-binary @- "$url/streams/$1" >/dev/null; }

# Two streams: application events with tags, sensor readings with an index.
for i in $(seq 1 20); do
	level=info tags=tag=info
	((i % 7 == 0)) && level=error tags=tag=error
	((i % 14 == 0)) && tags+="&tag=db"
	echo "{\"n\":$i,\"level\":\"$level\",\"msg\":\"request $i\"}" | post "app/events?$tags"
done
seq 15 25 | sed 's/$/.5 C/' | post "sensors/room1?lines&index.temp=21"

# A writer that keeps appending, as an application would.
(
	n=21
	while sleep 1; do
		echo "{\"n\":$n,\"level\":\"info\",\"msg\":\"request $n\"}" | post "app/events?tag=info" || exit 0
		n=$((n + 1))
	done
) &
pids=($! "${pids[@]}")

# Yesterday's readings, archived into one squashfs image.
"$bin" archive --live "$live" sensors/room1 "$archive/room1-old.squashfs" >/dev/null

"$bin" mount --live "$live" --archive "$archive" --ready-file "$work/ready" "$mnt" >/dev/null 2>"$work/mount.log" &
pids+=($!)
for _ in $(seq 100); do [[ -e $work/ready ]] && break; sleep 0.1; done
[[ -e $work/ready ]] || { echo "the mount did not come up: $(cat "$work/mount.log")"; exit 1; }

show() {
	printf '\n$ %s\n' "$*"
	(cd "$mnt" && eval "$@")
}
echo "franzfs demo: daemon at $url writing to $live; mounted at $mnt"
show ls
show ls app/events
show cat app/events/seq/-1
show cat app/events/seq/0:2
show "cat app/events/tag/error"
show "cat app/events/query/error+db"
show "cat app/events/index/time/-1m: | wc -l"
show "grep -c request app/events/seq/0:"
show "head -c 120 app/events/stat.json; echo ..."
show "cat room1-old/seq/-3:          # an archived stream reads as a live one"
show "curl -s $url/streams/sensors/room1/seq/-1"
show "timeout 2.5 tail -n 1 -f app/events/seq/0: || true"

if [[ -t 0 ]]; then
	printf '\nThe mount stays at %s, with a writer appending every second.\n' "$mnt"
	printf 'Try: tail -f %s/app/events/seq/-1:   (the last record and each new one)\n' "$mnt"
	printf ' or: cat %s/app/events/follow        (only new records)\n' "$mnt"
	printf 'Ctrl-C here ends the demo.\n'
	wait "${pids[-1]}"
fi
