package store

import (
	"errors"
	"fmt"
	"io/fs"
)

// maxIdleTagFiles bounds the tag files a Stream keeps open while no read
// uses them. Views of a stream with thousands of tags then hold a few
// descriptors, not one per tag ever read; a file in use is never closed.
const maxIdleTagFiles = 16

// tagFiles is a Stream's cache of open tag files. GUARDED_BY(Stream.mu).
type tagFiles struct {
	open map[string]*openTag
	tick uint64 // advances on each use, for least-recently-used eviction
	idle int    // entries with no reader
}

type openTag struct {
	f    File
	refs int
	used uint64
}

// withTag runs fn on tag's postings file, opening it if no read holds it
// open, and keeps it open afterwards within maxIdleTagFiles.
func (s *Stream) withTag(tag string, fn func(File) error) error {
	t, err := s.acquireTag(tag)
	if err != nil {
		return err
	}
	defer s.releaseTag(t)
	return fn(t.f)
}

func (s *Stream) acquireTag(tag string) (*openTag, error) {
	if err := ValidTag(tag); err != nil {
		return nil, fmt.Errorf("stream %s: %w", s.name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("stream %s: closed", s.name)
	}
	c := &s.tagFiles
	if t := c.open[tag]; t != nil {
		if t.refs == 0 {
			c.idle--
		}
		t.refs++
		return t, nil
	}
	// Opening under the lock keeps two readers from opening one tag twice;
	// it is a local open, or a lookup in an image.
	f, err := s.fsys.Open(tagPath(tag))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("stream %s: tag %q: %w", s.name, tag, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("stream %s: tag %q: %w", s.name, tag, err)
	}
	rf, ok := f.(File)
	if !ok {
		f.Close()
		return nil, fmt.Errorf("stream %s: tag %q does not support random reads", s.name, tag)
	}
	if c.open == nil {
		c.open = map[string]*openTag{}
	}
	t := &openTag{f: rf, refs: 1}
	c.open[tag] = t
	return t, nil
}

func (s *Stream) releaseTag(t *openTag) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &s.tagFiles
	c.tick++
	t.refs--
	t.used = c.tick
	if t.refs > 0 {
		return
	}
	if s.closed { // Close left it to its last reader
		t.f.Close()
		return
	}
	c.idle++
	for c.idle > maxIdleTagFiles {
		c.closeOldestIdle()
	}
}

func (c *tagFiles) closeOldestIdle() {
	var oldest string
	var o *openTag
	for tag, t := range c.open {
		if t.refs == 0 && (o == nil || t.used < o.used) {
			oldest, o = tag, t
		}
	}
	o.f.Close()
	delete(c.open, oldest)
	c.idle--
}

// closeAll closes the files no read holds; each other closes when its
// reader lets go of it.
func (c *tagFiles) closeAll() {
	for tag, t := range c.open {
		if t.refs == 0 {
			t.f.Close()
		}
		delete(c.open, tag)
	}
	c.idle = 0
}
