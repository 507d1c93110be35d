#!/usr/bin/env bash
# archive-yesterday.sh LIVE ARCHIVE [DAY]
#
# Archives the streams of one day, those named .../DAY (DAY is YYYY-MM-DD,
# yesterday by default) under the live root LIVE, into ARCHIVE/DAY.squashfs,
# then removes each live copy once the image is verified and holds every
# record the live stream has. A stream a writer still holds open is kept,
# and said so (franzfs serve lets go of a stream after --idle-close).
set -euo pipefail
[[ $# == 2 || $# == 3 ]] || { echo "usage: archive-yesterday.sh LIVE ARCHIVE [DAY]" >&2; exit 2; }
live=${1%/} archive=$2 day=${3:-$(date -d yesterday +%F)}
franzfs=${FRANZFS:-franzfs}
[[ $day =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] && date -d "$day" >/dev/null 2>&1 ||
	{ echo "archive-yesterday.sh: day $day is not a date (YYYY-MM-DD)" >&2; exit 2; }
command -v jq >/dev/null || { echo "archive-yesterday.sh: needs jq (apt-get install jq)" >&2; exit 2; }

mapfile -t streams < <(cd "$live" && find . -path "*/$day" -type d -exec test -f {}/offsets \; -print | sed 's|^\./||' | sort)
if ((${#streams[@]} == 0)); then
	echo "no streams of $day under $live"
	exit 0
fi
image=$archive/$day.squashfs
mkdir -p "$archive"
"$franzfs" archive --verify --live "$live" "${streams[@]}" "$image"

records() { "$franzfs" info --json "$1" | jq .records; }
for s in "${streams[@]}"; do
	inner=$image/$s
	((${#streams[@]} == 1)) && inner=$image
	"$franzfs" check "$inner" >/dev/null
	# Hold the stream's writer lock while comparing and removing, so that
	# no writer appends to what is being removed.
	exec {lock}>>"$live/$s/.lock"
	if ! flock -n "$lock"; then
		echo "$s: kept live: a writer has it open ($(cat "$live/$s/.lock"))" >&2
		exec {lock}>&-
		continue
	fi
	archived=$(records "$inner") now=$(records "$live/$s")
	if [[ $archived == "$now" ]]; then
		rm -rf -- "${live:?}/$s"
		echo "$s: $archived records archived in $image, live copy removed"
	else
		echo "$s: kept live: it has $now records, the image $archived" >&2
	fi
	exec {lock}>&-
done
