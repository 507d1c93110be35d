package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// lockStream takes the stream's writer lock: an flock on its .lock file, so
// it holds across processes and between two Writers of one process, and
// goes away with the process that held it. The file names the holder.
func lockStream(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("stream %s: %w", dir, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
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
