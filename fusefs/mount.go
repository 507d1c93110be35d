// Package fusefs shows a tree of streams as a read-only FUSE filesystem
// (go-fuse's fs API): every stream a directory of the views of SPEC
// section 2. It holds no format or query logic: store parses every name and
// computes every view; a line here only says how a view appears to the
// kernel (its mode, size, timeouts and caching).
package fusefs

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/franzfs/franzfs/internal/fdlimit"
	"github.com/franzfs/franzfs/tree"
)

// How long the kernel may cache what it learns.
const (
	// stableTimeout: names and sizes that can no longer change.
	stableTimeout = time.Hour
	// treeTimeout: folders and streams, which may be created and deleted.
	treeTimeout = time.Second
	// growingTimeout: sizes of growing views, fresh on every stat so that
	// tail -f (which polls fstat) sees each record. go-fuse would replace 0
	// with the mount's default.
	growingTimeout = time.Nanosecond
)

// Options configure a mount.
type Options struct {
	// Debug logs every FUSE request and reply.
	Debug bool
	// Logger receives errors, with the stream and path they concern.
	Logger *slog.Logger
	// NoPassthrough serves the raw files of live streams by reads even
	// where the kernel could read them itself (FUSE passthrough).
	NoPassthrough bool
	// AllowOther lets users other than the one who mounted see the mount
	// (FUSE's allow_other); each still reads only what the originals let
	// them read.
	AllowOther bool
}

// mount is what every node shares.
type mount struct {
	tree   *tree.Tree
	log    *slog.Logger
	server *fuse.Server
	// noPassthrough: not asked for, or the kernel refused a backing file
	// once (go-fuse then stops asking for passthrough).
	noPassthrough atomic.Bool
}

// passthrough tells whether an open of fd will be served by FUSE
// passthrough: it tries the registration go-fuse makes after the open.
func (m *mount) passthrough(fd int) bool {
	if m.noPassthrough.Load() {
		return false
	}
	id, errno := m.server.RegisterBackingFd(&fuse.BackingMap{Fd: int32(fd)})
	if errno != 0 {
		m.noPassthrough.Store(true)
		return false
	}
	m.server.UnregisterBackingFd(id)
	return true
}

// Mount serves t at mountpoint until the returned server is unmounted. A
// stale mount left there by a killed process is cleared first; a missing
// device, mount point or permission is an error that says what to do.
func Mount(mountpoint string, t *tree.Tree, opts Options) (*fuse.Server, error) {
	if err := preflight(mountpoint); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	fdlimit.Raise()
	m := &mount{tree: t, log: log}
	m.noPassthrough.Store(opts.NoPassthrough)
	root := &folderNode{m: m, path: "."}
	fopts := &fs.Options{
		MountOptions: fuse.MountOptions{
			FsName:      "franzfs",
			Name:        "franzfs",
			DirectMount: true,
			AllowOther:  opts.AllowOther,
			// The kernel checks every access against the owner, group and
			// mode each node shows, those of its original.
			Options: []string{"ro", "default_permissions"},
			Debug:   opts.Debug,
			// Also the largest read request: with its reply header it must
			// fit a pipe (1 MiB) for the kernel to splice view reads.
			MaxWrite:     512 << 10,
			MaxReadAhead: 1 << 20,
			Logger:       fuseLogger(opts.Debug),
			// READDIRPLUS would make an inode of every record listed.
			DisableReadDirPlus: true,
		},
		// Each node sets its own timeouts; none means none.
		EntryTimeout:    nil,
		AttrTimeout:     nil,
		NegativeTimeout: nil,
	}
	// fs.Mount, with the server known to the nodes before it serves.
	server, err := fuse.NewServer(fs.NewNodeFS(root, fopts), mountpoint, &fopts.MountOptions)
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", mountpoint, err)
	}
	m.server = server
	go server.Serve()
	if err := server.WaitMount(); err != nil {
		return nil, fmt.Errorf("mount %s: %w", mountpoint, err)
	}
	raiseReadAhead(mountpoint)
	return server, nil
}

// readAheadKB is the kernel read-ahead asked for the mount. The kernel
// starts FUSE mounts at 128 KiB; larger requests halve the round trips of
// a sequential read (archived payloads: 0.97 to 1.5 GB/s here).
const readAheadKB = 1024

// raiseReadAhead sets the mount's read-ahead through sysfs, which only
// root may do; otherwise the kernel's default stays.
func raiseReadAhead(mountpoint string) {
	var st unix.Stat_t
	if err := unix.Stat(mountpoint, &st); err != nil {
		return
	}
	p := fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev))
	if err := os.WriteFile(p, []byte(fmt.Sprint(readAheadKB)), 0); err != nil {
		slog.Debug("kernel read-ahead left at its default", "mountpoint", mountpoint, "err", err)
	}
}

// fuseLogger is go-fuse's own log: its notes (such as falling back from
// splice) are for --debug only.
func fuseLogger(debug bool) *log.Logger {
	if debug {
		return log.New(os.Stderr, "go-fuse: ", log.LstdFlags)
	}
	return log.New(io.Discard, "", 0)
}

// Unmount unmounts the server, retrying while the kernel reports it busy,
// and detaching it lazily if it stays busy.
func Unmount(server *fuse.Server, mountpoint string) error {
	var err error
	for range 10 {
		if err = server.Unmount(); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	slog.Warn("mount busy, detaching it lazily", "mountpoint", mountpoint, "err", err)
	return unix.Unmount(mountpoint, unix.MNT_DETACH)
}
