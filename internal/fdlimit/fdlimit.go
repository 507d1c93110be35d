// Package fdlimit lifts the process's soft limit on open files to its hard
// limit: the mount and the daemon hold a few descriptors for every stream
// they have open, and the soft limit (often 1024) is a default, not a
// choice. The hard limit still bounds them, and their own limits come first.
package fdlimit

import "golang.org/x/sys/unix"

// Raise lifts the soft limit on open files to the hard one.
func Raise() {
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
	}
}
