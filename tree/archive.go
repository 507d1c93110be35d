package tree

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/franzfs/franzfs/squash"
	"github.com/franzfs/franzfs/store"
)

// ImageSuffix marks an archive image in an archive directory.
const ImageSuffix = ".squashfs"

// ArchiveDir is a directory of archive images: each NAME.squashfs is shown
// as NAME. Images added, replaced or removed later are seen on the next
// lookup.
type ArchiveDir struct {
	dir string

	mu     sync.Mutex
	images map[string]*openImage // GUARDED_BY(mu): by file
}

type openImage struct {
	img     *squash.Image
	size    int64
	modTime time.Time
	err     error
}

// NewArchiveDir returns the images in dir.
func NewArchiveDir(dir string) *ArchiveDir {
	return &ArchiveDir{dir: dir, images: map[string]*openImage{}}
}

// Names lists the images by the names they are shown under.
func (a *ArchiveDir) Names() ([]string, error) {
	entries, err := os.ReadDir(a.dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ImageSuffix)
		if ok && e.Type().IsRegular() && ValidName(name) == nil {
			names = append(names, name)
		}
	}
	return names, nil
}

// Source returns the image shown as name, opened once and reopened when
// its file changes. A damaged image is an error that names it.
func (a *ArchiveDir) Source(name string) (Source, bool, error) {
	if ValidName(name) != nil {
		return Source{}, false, nil
	}
	return a.File(name + ImageSuffix)
}

// File returns the image in file, a path beneath the directory whose
// components follow the stream name rule (franz clients name images so,
// suffix and all). ok is false if it is not a regular file.
func (a *ArchiveDir) File(file string) (Source, bool, error) {
	if store.ValidStreamName(file) != nil {
		return Source{}, false, nil
	}
	p := filepath.Join(a.dir, file)
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !fi.Mode().IsRegular()) {
		a.forget(file)
		return Source{}, false, nil
	}
	if err != nil {
		return Source{}, false, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	oi := a.images[file]
	if oi == nil || oi.size != fi.Size() || !oi.modTime.Equal(fi.ModTime()) {
		// A replaced image stays open: streams opened on it may still read it.
		oi = &openImage{size: fi.Size(), modTime: fi.ModTime()}
		oi.img, oi.err = squash.Open(p)
		a.images[file] = oi
	}
	if oi.err != nil {
		return Source{}, false, oi.err
	}
	// Whoever may read the image file may read what is in it; chmod and
	// chown of the image take effect at once.
	return ImageSource(oi.img, AccessOf(fi)), true, nil
}

func (a *ArchiveDir) forget(file string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.images, file)
}

// ImageSource is the tree of streams in an open image, which access says
// who may read; times are those the image holds.
func ImageSource(img *squash.Image, access Access) Source {
	return Source{
		FS: img,
		Open: func(p string) (*store.Stream, error) {
			sub, err := fs.Sub(img, p)
			if err != nil {
				return nil, err
			}
			name := img.Name() // not path.Join: it would make s3:// of s3://
			if p != "." {
				name += "/" + p
			}
			return store.OpenFS(sub, name)
		},
		ID: img,
		Access: func(p string) (dir, files Access, err error) {
			fi, err := img.Stat(p)
			if err != nil {
				return Access{}, Access{}, err
			}
			dir, files = access, access
			dir.ModTime, files.ModTime = fi.ModTime(), fi.ModTime()
			if fi, err := img.Stat(path.Join(p, store.PayloadsFile)); err == nil {
				files.ModTime = fi.ModTime()
			}
			return dir, files, nil
		},
	}
}
