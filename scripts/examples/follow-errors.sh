#!/usr/bin/env bash
# follow-errors.sh MOUNT [TAG]
#
# Prints every new record tagged TAG (default: error) in any stream under
# the franzfs mount MOUNT, as it arrives, each line prefixed with its
# stream's name. Streams created later are picked up within a few seconds
# and followed from their first record.
# Runs until Ctrl-C.
set -euo pipefail
mnt=${1:?usage: follow-errors.sh MOUNT [TAG]}
tag=${2:-error}
[[ -d $mnt ]] || { echo "follow-errors.sh: $mnt is not a directory (is franzfs mounted there?)" >&2; exit 2; }

declare -A following
# Ctrl-C ends the tails too, which would otherwise keep the mount busy.
trap 'pkill -P $$ || true; exit 0' INT TERM EXIT
from=0 # streams there at the start: only new records; streams made later: all
while :; do
	# A stream is a directory with a stat.json; its record directories are
	# not searched, however many records they list.
	while IFS= read -r dir; do
		[[ -n ${following[$dir]:-} ]] && continue
		following[$dir]=1
		name=${dir#"$mnt"/}
		# tail -F waits for a tag not yet used (then prints it whole), and
		# polls the growing view every second.
		tail -n "$from" -F "$dir/tag/$tag" 2>/dev/null | sed -u "s|^|$name: |" &
	done < <(find "$mnt" -mindepth 1 \( -name seq -o -name index -o -name tag -o -name query \) -prune \
		-o -name stat.json -printf '%h\n' | sort)
	from=+1
	sleep "${FOLLOW_ERRORS_RESCAN:-5}"
done
