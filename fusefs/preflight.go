package fusefs

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/franzfs/franzfs/internal/advice"
)

// Errors a mount meets before it serves, each told in one line that says
// what to do.
var (
	// ErrNoFUSE: the kernel, or the container, offers no FUSE.
	ErrNoFUSE = errors.New("FUSE is not available")
	// ErrBusy: something is mounted at the mount point already.
	ErrBusy = errors.New("mount point busy")
)

const fuseDevice = "/dev/fuse"

// preflight checks what a mount needs, so that a missing device, mount
// point or permission is reported as such rather than as the exit status
// of fusermount. It clears a stale mount on the way.
func preflight(mountpoint string) error {
	if _, err := os.Stat(fuseDevice); err != nil {
		return advice.New(ErrNoFUSE, "no %s: this kernel or container has no FUSE (try modprobe fuse; give a container --device %s)", fuseDevice, fuseDevice)
	}
	root := os.Geteuid() == 0
	if !root {
		if _, err := exec.LookPath("fusermount3"); err != nil {
			return advice.New(ErrNoFUSE, "fusermount3 not found: install fuse3 (apt-get install fuse3) or mount as root")
		}
		if unix.Access(fuseDevice, unix.R_OK|unix.W_OK) != nil {
			return advice.New(fs.ErrPermission, "no permission to use %s: mount as root, or make it usable (chmod 0666 %s)", fuseDevice, fuseDevice)
		}
	}
	if err := clearStale(mountpoint); err != nil {
		return err
	}
	if src, fstype, ok := mountedAt(mountpoint); ok {
		return advice.New(ErrBusy, "mount point %s is already mounted (%s %s): unmount it first (umount %s)", mountpoint, fstype, src, mountpoint)
	}
	if !root && unix.Access(mountpoint, unix.W_OK) != nil {
		return advice.New(fs.ErrPermission, "no permission to mount on %s: use a directory you own, or mount as root", mountpoint)
	}
	return nil
}

// clearStale lazily unmounts a mount point whose server is gone: it
// answers ENOTCONN ("transport endpoint is not connected"). The stat must
// reach the server: a plain stat may be answered from the kernel's cache
// of the dead mount's attributes.
func clearStale(mountpoint string) error {
	var stx unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, mountpoint, unix.AT_STATX_FORCE_SYNC, unix.STATX_BASIC_STATS, &stx)
	switch {
	case err == nil:
		if stx.Mode&unix.S_IFMT != unix.S_IFDIR {
			return advice.New(syscall.ENOTDIR, "mount point %s is not a directory", mountpoint)
		}
		return nil
	case errors.Is(err, syscall.ENOENT):
		return advice.New(fs.ErrNotExist, "mount point %s does not exist: create it (mkdir -p %s)", mountpoint, mountpoint)
	case errors.Is(err, syscall.EACCES):
		return advice.New(fs.ErrPermission, "mount point %s: permission denied: use a directory you can reach, or mount as root", mountpoint)
	case !errors.Is(err, syscall.ENOTCONN):
		return fmt.Errorf("mount point %s: %w", mountpoint, err)
	}
	slog.Info("clearing a stale mount", "mountpoint", mountpoint)
	if err := unix.Unmount(mountpoint, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("mount point %s is a stale mount that could not be cleared (try: umount -l %s): %w", mountpoint, mountpoint, err)
	}
	return nil
}

// mountedAt reports the source and type of the mount at dir, if dir is a
// mount point, from /proc/self/mountinfo.
func mountedAt(dir string) (source, fstype string, ok bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", false
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 5 || sep < 0 || sep+2 >= len(fields) || unescapeMountinfo(fields[4]) != abs {
			continue
		}
		source, fstype, ok = fields[sep+2], fields[sep+1], true // the last mount there is the one seen
	}
	return source, fstype, ok
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if c, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(c))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
