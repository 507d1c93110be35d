package fusefs

import (
	"context"
	"errors"
	"syscall"

	"github.com/franzfs/franzfs/store"
)

// errno maps an error of store or tree to what the kernel is told. It is
// the one place that does; anything unexpected is logged with where it
// happened, as EIO.
func (m *mount) errno(err error, path string) syscall.Errno {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrBadName):
		return syscall.ENOENT
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return syscall.EINTR
	}
	var errno syscall.Errno
	if errors.As(err, &errno) && errno == syscall.ENOENT {
		return errno
	}
	m.log.Error("read failed", "path", path, "err", err)
	return syscall.EIO
}
