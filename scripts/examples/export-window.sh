#!/usr/bin/env bash
# export-window.sh MOUNT STREAM FROM TO
#
# Writes the records of STREAM whose time is in [FROM, TO] as JSON lines,
# one object per record with the stream's name added: records that are JSON
# objects are kept as they are, other lines become {"line": ...}. FROM and
# TO are what the mount's time ranges take: RFC 3339 times, "now", or "-15m".
#
#   export-window.sh /mnt/franz app/events 2026-11-21T00:00:00Z 2026-11-21T23:59:59Z > day.jsonl
set -euo pipefail
[[ $# == 4 ]] || { echo "usage: export-window.sh MOUNT STREAM FROM TO" >&2; exit 2; }
mnt=$1 stream=$2 from=$3 to=$4
command -v jq >/dev/null || { echo "export-window.sh: needs jq (apt-get install jq)" >&2; exit 2; }
view=$mnt/$stream/index/time/$from:$to
[[ -d $mnt/$stream ]] || { echo "export-window.sh: no stream $stream under $mnt" >&2; exit 3; }
[[ -e $view ]] || { echo "export-window.sh: $from:$to is not a time range the mount takes" >&2; exit 2; }
# A range whose end is in the future grows; read what it holds now.
head -c "$(stat -c %s "$view")" "$view" |
	jq -c -R --arg stream "$stream" '(fromjson? | objects) // {line: .} | . + {stream: $stream}'
