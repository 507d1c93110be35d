package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
)

// Confinement (SPEC section 6). A stream's directory is held open as an
// os.Root, reached beneath the live root when there is one, so that no
// symbolic link on the way leads out of it. The stream's own files are
// opened through it only if they are regular files and no symbolic link:
// a link to /etc/shadow would be served, a FIFO would hang every reader.
// A writer also refuses a file with more than one link, which would write
// into the file at the other end.

// openRegular opens file name beneath r, which must be a regular file and
// not a symbolic link; with sole, it must also have no other link. With
// os.O_CREATE, a file that does not exist is made (never through a link).
// A FIFO or device swapped in meanwhile is opened without blocking and
// then refused.
func openRegular(r *os.Root, name string, flag int, sole bool) (*os.File, error) {
	before, err := r.Lstat(name)
	switch {
	case err == nil:
		if err := checkRegular(name, before, sole); err != nil {
			return nil, err
		}
		flag &^= os.O_CREATE
	case errors.Is(err, fs.ErrNotExist) && flag&os.O_CREATE != 0:
		flag |= os.O_EXCL // never follows a link, whatever appeared
		before = nil
	default:
		return nil, err
	}
	f, err := r.OpenFile(name, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o644)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkRegular(name, fi, sole)
	}
	if err == nil && before != nil && !os.SameFile(before, fi) {
		err = fmt.Errorf("%s was replaced while it was opened: %w", name, ErrUnsafe)
	}
	if err == nil {
		// A regular file now: reads and writes as any other (passthrough
		// and splice get the descriptor too).
		err = syscall.SetNonblock(int(f.Fd()), false)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkRegular refuses what a stream's file must not be.
func checkRegular(name string, fi fs.FileInfo, sole bool) error {
	switch mode := fi.Mode(); {
	case mode&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link: %w", name, ErrUnsafe)
	case !mode.IsRegular():
		return fmt.Errorf("%s is a %s, not a regular file: %w", name, FileType(mode), ErrUnsafe)
	case sole && links(fi) > 1:
		return fmt.Errorf("%s has %d hard links, so writing it would change another file: %w", name, links(fi), ErrUnsafe)
	}
	return nil
}

// FileType names the type of a file of mode, for errors.
func FileType(mode fs.FileMode) string {
	switch {
	case mode.IsRegular():
		return "regular file"
	case mode.IsDir():
		return "directory"
	case mode&fs.ModeSymlink != 0:
		return "symbolic link"
	case mode&fs.ModeNamedPipe != 0:
		return "FIFO"
	case mode&fs.ModeSocket != 0:
		return "socket"
	case mode&fs.ModeCharDevice != 0:
		return "character device"
	case mode&fs.ModeDevice != 0:
		return "block device"
	}
	return "special file"
}

// links is fi's count of hard links, 1 where the system does not say.
func links(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}

// openSubdir opens directory name beneath r, which must be a directory and
// not a symbolic link.
func openSubdir(r *os.Root, name string) (*os.Root, error) {
	before, err := r.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !before.IsDir() {
		if before.Mode()&fs.ModeSymlink != 0 {
			return nil, fmt.Errorf("%s is a symbolic link: %w", name, ErrUnsafe)
		}
		return nil, fmt.Errorf("%s is a %s, not a directory: %w", name, FileType(before.Mode()), ErrUnsafe)
	}
	sub, err := r.OpenRoot(name)
	if err != nil {
		return nil, err
	}
	if fi, err := sub.Stat("."); err != nil || !os.SameFile(before, fi) {
		sub.Close()
		return nil, fmt.Errorf("%s was replaced while it was opened: %w", name, ErrUnsafe)
	}
	return sub, nil
}

// openIn opens a stream's file, such as "payloads" or "tags/T", beneath
// the stream directory r.
func openIn(r *os.Root, name string, flag int, sole bool) (*os.File, error) {
	dir, file := path.Split(name)
	if dir == "" {
		return openRegular(r, file, flag, sole)
	}
	sub, err := openSubdir(r, strings.TrimSuffix(dir, "/"))
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	f, err := openRegular(sub, file, flag, sole)
	if err != nil {
		return nil, fmt.Errorf("%s%w", dir, err)
	}
	return f, nil
}

// streamFS is a live stream's directory as the fs.FS a Stream reads: its
// files through openIn, read-only.
type streamFS struct{ root *os.Root }

func (d streamFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	return openIn(d.root, name, os.O_RDONLY, false)
}

// ReadDir lists a directory of the stream (tags), which must be no link.
func (d streamFS) ReadDir(name string) ([]fs.DirEntry, error) {
	sub, err := openSubdir(d.root, name)
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	f, err := sub.Open(".")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// OpenRoot opens dir as a live root, beneath which streams are named.
func OpenRoot(dir string) (*os.Root, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("live root %s: %w", dir, err)
	}
	return r, nil
}

// openStreamRoot opens stream name beneath the live root.
func openStreamRoot(root *os.Root, name string) (*os.Root, error) {
	if err := ValidStreamName(name); err != nil {
		return nil, err
	}
	r, err := root.OpenRoot(name)
	if err != nil {
		return nil, ConfinementErr(err)
	}
	return r, nil
}

// ConfinementErr marks os.Root's refusal of a path that leads out of the
// root as ErrUnsafe, naming the path.
func ConfinementErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "path escapes from parent") {
		return fmt.Errorf("%s leads out of the live root: %w", pe.Path, ErrUnsafe)
	}
	return err
}
