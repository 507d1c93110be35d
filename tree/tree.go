// Package tree finds streams: it shows a live root directory, and archive
// images through the sources they provide, as one tree of folders and
// streams (SPEC section 2: a directory holding an offsets file is a stream,
// other directories are folders, and an archive wins over a live name).
//
// It knows nothing of FUSE or HTTP: the mount and the daemon both browse
// streams through it.
package tree

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/franzfs/franzfs/store"
)

// Kind is what a path in the tree names.
type Kind int

const (
	Missing Kind = iota
	Folder
	Stream
)

// An Entry is a child of a folder.
type Entry struct {
	Name string
	Kind Kind
}

// A Source is one tree of folders and streams over an fs.FS.
type Source struct {
	FS fs.FS
	// Open opens the stream at a path of FS ("." for the root).
	Open func(p string) (*store.Stream, error)
	// ID tells sources apart: the live root's path, or an open image.
	ID any
	// Access says who may read path p of FS, and the files of the stream
	// there (see Access).
	Access func(p string) (dir, files Access, err error)
}

// Access is who may read a path of the tree, as the mount shows it and the
// kernel enforces it: the owner, group and permission bits of the original
// (a live directory or file, or the image file of an archive).
type Access struct {
	Uid, Gid uint32
	Perm     fs.FileMode
	ModTime  time.Time // when the original last changed
}

// AccessOf returns the owner, group, permission bits and time of fi.
func AccessOf(fi fs.FileInfo) Access {
	a := Access{Perm: fi.Mode().Perm(), ModTime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		a.Uid, a.Gid = st.Uid, st.Gid
	}
	return a
}

// An Origin says where a path of the tree leads: which source, and which
// path in it. Two lookups of a name that give the same Origin give the
// same stream.
type Origin struct {
	Source any
	Path   string
}

// LiveSource is the live root: nothing beneath it resolves outside it.
func LiveSource(root *os.Root) Source {
	return Source{
		FS:   root.FS(),
		Open: func(p string) (*store.Stream, error) { return store.OpenIn(root, p) },
		ID:   root.Name(),
		Access: func(p string) (dir, files Access, err error) {
			fi, err := root.Stat(p)
			if err != nil {
				return Access{}, Access{}, store.ConfinementErr(err)
			}
			dir, files = AccessOf(fi), AccessOf(fi)
			if fi, err := root.Lstat(path.Join(p, store.PayloadsFile)); err == nil {
				files = AccessOf(fi)
			}
			return dir, files, nil
		},
	}
}

// Kind reports what p names in the source.
func (s Source) Kind(p string) (Kind, error) {
	fi, err := fs.Stat(s.FS, p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
		return Missing, nil
	}
	if err != nil {
		return Missing, fmt.Errorf("%s: %w", p, store.ConfinementErr(err))
	}
	if !fi.IsDir() {
		return Missing, nil
	}
	// Any offsets but a folder (a stream named offsets) makes a stream: one
	// whose offsets is a link or a FIFO is refused when opened, by name.
	if fi, err := fs.Lstat(s.FS, path.Join(p, store.OffsetsFile)); err == nil && !fi.IsDir() {
		return Stream, nil
	}
	return Folder, nil
}

// List returns the folders and streams in folder p, sorted.
func (s Source) List(p string) ([]Entry, error) {
	dirents, err := fs.ReadDir(s.FS, p)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, d := range dirents {
		if !d.IsDir() || ValidName(d.Name()) != nil {
			continue
		}
		k, err := s.Kind(path.Join(p, d.Name()))
		if err != nil || k == Missing {
			continue
		}
		out = append(out, Entry{d.Name(), k})
	}
	return out, nil
}

// Images lists and opens archive images: each one is a source whose root
// appears in the tree under the image's name.
type Images interface {
	Names() ([]string, error)
	Source(name string) (Source, bool, error)
}

// Tree is the union of a live root and archive images.
type Tree struct {
	live   *Source
	images Images
}

// New returns the tree of the live root (if not nil) and the images (if
// not nil).
func New(live *os.Root, images Images) *Tree {
	t := &Tree{images: images}
	if live != nil {
		src := LiveSource(live)
		t.live = &src
	}
	return t
}

// ValidName applies the stream name rule to one component.
func ValidName(name string) error {
	if strings.Contains(name, "/") {
		return fmt.Errorf("%w: %q", store.ErrBadName, name)
	}
	return store.ValidStreamName(name)
}

// resolve finds the source that serves p and the path within it.
func (t *Tree) resolve(p string) (Source, string, bool, error) {
	if p != "." {
		if err := store.ValidStreamName(p); err != nil {
			return Source{}, "", false, err
		}
	}
	if t.images != nil && p != "." {
		first, rest, _ := strings.Cut(p, "/")
		src, ok, err := t.images.Source(first)
		if err != nil {
			return Source{}, "", false, err
		}
		if ok {
			if rest == "" {
				rest = "."
			}
			return src, rest, true, nil
		}
	}
	if t.live == nil {
		return Source{}, "", false, nil
	}
	return *t.live, p, true, nil
}

// Kind reports what p names; "." is the root, always a folder.
func (t *Tree) Kind(p string) (Kind, error) {
	if p == "." {
		return Folder, nil
	}
	src, sp, ok, err := t.resolve(p)
	if err != nil || !ok {
		return Missing, ignoreBadName(err)
	}
	return src.Kind(sp)
}

// List returns the folders and streams in folder p.
func (t *Tree) List(p string) ([]Entry, error) {
	if p != "." {
		src, sp, ok, err := t.resolve(p)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("folder %s: %w", p, store.ErrNotFound)
		}
		return src.List(sp)
	}
	var out []Entry
	if t.live != nil {
		var err error
		if out, err = t.live.List("."); err != nil {
			return nil, err
		}
	}
	if t.images != nil {
		names, err := t.images.Names()
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			k, err := t.Kind(name)
			if err != nil {
				k = Folder // listed, so that looking into it tells what is wrong
			}
			if k == Missing {
				continue
			}
			// The archive wins over a live stream of the same name.
			out = slices.DeleteFunc(out, func(e Entry) bool { return e.Name == name })
			out = append(out, Entry{name, k})
		}
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Open opens the stream at p, and says where it comes from.
func (t *Tree) Open(p string) (*store.Stream, Origin, error) {
	src, sp, ok, err := t.resolve(p)
	if err != nil {
		return nil, Origin{}, err
	}
	if !ok {
		return nil, Origin{}, fmt.Errorf("stream %s: %w", p, store.ErrNotFound)
	}
	s, err := src.Open(sp)
	return s, Origin{src.ID, sp}, err
}

// Access says who may read path p of the tree ("." is the root), and the
// files of the stream there.
func (t *Tree) Access(p string) (dir, files Access, err error) {
	if p == "." {
		if t.live == nil {
			return Access{Perm: 0o555}, Access{Perm: 0o444}, nil
		}
		return t.live.Access(".")
	}
	src, sp, ok, err := t.resolve(p)
	if err != nil {
		return Access{}, Access{}, err
	}
	if !ok {
		return Access{}, Access{}, fmt.Errorf("%s: %w", p, store.ErrNotFound)
	}
	return src.Access(sp)
}

// Origin says where p leads now.
func (t *Tree) Origin(p string) (Origin, error) {
	src, sp, ok, err := t.resolve(p)
	if err != nil || !ok {
		return Origin{}, err
	}
	return Origin{src.ID, sp}, nil
}

func ignoreBadName(err error) error {
	if errors.Is(err, store.ErrBadName) {
		return nil
	}
	return err
}
