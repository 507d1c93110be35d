package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// lockStream takes the stream's writer lock: an flock on its .lock file, so
// it holds across processes and between two Writers of one process, and
// goes away with the process that held it. The file names the holder.
func lockStream(r *os.Root, dir string) (*os.File, error) {
	f, err := openRegular(r, lockFile, os.O_RDWR|os.O_CREATE, true)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("stream %s: %w", dir, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := io.ReadAll(io.LimitReader(f, 256))
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			if h := strings.TrimSpace(string(holder)); h != "" {
				return nil, fmt.Errorf("stream %s: %w (%s)", dir, ErrLocked, h)
			}
			return nil, fmt.Errorf("stream %s: %w", dir, ErrLocked)
		}
		return nil, fmt.Errorf("stream %s: lock: %w", dir, err)
	}
	host, _ := os.Hostname()
	holder := fmt.Sprintf("pid %d on %s since %s\n", os.Getpid(), host, time.Now().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(holder), 0)
	}
	return f, nil
}

// RemoveIn deletes stream name beneath the live root. It takes the stream's
// writer lock first, so a stream another writer holds is kept (ErrLocked,
// naming the holder): its writer would acknowledge records into nothing.
func RemoveIn(root *os.Root, name string) error {
	r, err := openStreamRoot(root, name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("stream %s: %w", name, ErrNotFound)
		}
		return fmt.Errorf("stream %s: %w", name, err)
	}
	defer r.Close()
	if _, err := r.Lstat(OffsetsFile); err != nil {
		return fmt.Errorf("stream %s: no such stream: %w", name, ErrNotFound)
	}
	lock, err := lockStream(r, name)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := root.RemoveAll(name); err != nil {
		return fmt.Errorf("stream %s: %w", name, err)
	}
	return nil
}
