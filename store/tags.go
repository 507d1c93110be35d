package store

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
)

// Tags lists the stream's tags, sorted.
func (s *Stream) Tags() ([]string, error) {
	entries, err := fs.ReadDir(s.fsys, TagsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", s.name, err)
	}
	var tags []string
	for _, e := range entries {
		if ValidTag(e.Name()) == nil && !e.IsDir() {
			tags = append(tags, e.Name())
		}
	}
	slices.Sort(tags)
	return tags, nil
}

// TagCount returns how many visible records carry tag.
func (s *Stream) TagCount(tag string) (int64, error) {
	count, err := s.Count()
	if err != nil {
		return 0, err
	}
	return s.tagCountBelow(tag, count)
}

// tagCountBelow returns how many of the first records records carry tag.
// Postings at or past the visible count belong to records not yet
// committed (the writer writes postings before offsets).
func (s *Stream) tagCountBelow(tag string, records int64) (int64, error) {
	it, err := s.postings(tag)
	if err != nil {
		return 0, err
	}
	return it.countBelow(records)
}

func (it *postingsIter) countBelow(records int64) (int64, error) {
	if err := it.refresh(); err != nil {
		return 0, err
	}
	return it.searchFile(0, it.n, records)
}

// postingsChunk is how many postings one read brings in.
const postingsChunk = 512

// postingsIter walks one tag's postings in order. It never returns a record
// at or past limit: those are not visible yet.
type postingsIter struct {
	s     *Stream
	tag   string
	n     int64 // postings in the file, as last seen
	limit int64

	buf   []int64 // postings buf[0..] are file entries bufAt..
	raw   []byte  // the bytes of the chunk read last
	bufAt int64
	i     int // cursor in buf
}

// postings starts a walk of tag's postings; the tag must exist. The file
// is held only during each read, so an idle walk holds no descriptor.
func (s *Stream) postings(tag string) (*postingsIter, error) {
	if err := s.withTag(tag, func(File) error { return nil }); err != nil {
		return nil, err
	}
	return &postingsIter{s: s, tag: tag}, nil
}

func (it *postingsIter) setLimit(limit int64) { it.limit = limit }

func (it *postingsIter) refresh() error {
	var sz int64
	err := it.s.withTag(it.tag, func(f File) (err error) {
		sz, err = size(f)
		return err
	})
	if err != nil {
		return fmt.Errorf("stream %s: tag %q: %w", it.s.name, it.tag, err)
	}
	it.n = sz / wordSize
	return nil
}

func (it *postingsIter) entry(i int64) (int64, error) {
	var b [wordSize]byte
	if n, err := it.readAt(b[:], i*wordSize); n != wordSize {
		return 0, fmt.Errorf("stream %s: tag %q: posting %d: %w: %v", it.s.name, it.tag, i, ErrCorrupt, err)
	}
	return word(b[:]), nil
}

// searchFile returns the first entry position in [lo, hi) whose record is >= x.
func (it *postingsIter) searchFile(lo, hi, x int64) (int64, error) {
	return it.s.searchRecords(lo, hi, func(i int64) (bool, error) {
		v, err := it.entry(i)
		return v >= x, err
	})
}

func (it *postingsIter) load(at int64) error {
	n := min(postingsChunk, it.n-at)
	if it.raw == nil {
		it.raw = make([]byte, postingsChunk*wordSize)
	}
	raw := it.raw[:n*wordSize]
	if got, err := it.readAt(raw, at*wordSize); int64(got) != n*wordSize {
		return fmt.Errorf("stream %s: tag %q: postings at %d: %w: %v", it.s.name, it.tag, at, ErrCorrupt, err)
	}
	prev := int64(-1) // postings ascend strictly, across chunks too
	if len(it.buf) > 0 && it.bufAt+int64(len(it.buf)) == at {
		prev = it.last()
	}
	it.buf = it.buf[:0]
	for i := int64(0); i < n; i++ {
		v := word(raw[i*wordSize:])
		if v <= prev {
			return fmt.Errorf("stream %s: tag %q: posting %d is %d, not after %d: %w", it.s.name, it.tag, at+i, v, prev, ErrCorrupt)
		}
		it.buf = append(it.buf, v)
		prev = v
	}
	it.bufAt, it.i = at, 0
	return nil
}

func (it *postingsIter) readAt(b []byte, off int64) (n int, err error) {
	werr := it.s.withTag(it.tag, func(f File) error {
		n, err = f.ReadAt(b, off)
		return nil
	})
	if werr != nil {
		return n, werr
	}
	return n, err
}

func (it *postingsIter) last() int64 { return it.buf[len(it.buf)-1] }

// seek returns the first posting >= x without consuming it; ok is false when
// no such visible posting is known yet.
func (it *postingsIter) seek(x int64) (rec int64, ok bool, err error) {
	for {
		if it.i < len(it.buf) && it.last() >= x {
			if it.buf[it.i] < x { // else the walk is at x already, as it mostly is
				it.i += sort.Search(len(it.buf)-it.i, func(j int) bool { return it.buf[it.i+j] >= x })
			}
			if v := it.buf[it.i]; v < it.limit {
				return v, true, nil
			}
			return 0, false, nil
		}
		next := it.bufAt + int64(len(it.buf))
		if next >= it.n {
			if err := it.refresh(); err != nil {
				return 0, false, err
			}
			if next >= it.n {
				it.i = len(it.buf)
				return 0, false, nil
			}
		}
		at := next
		if it.n-next > postingsChunk {
			// Past the next chunk, as a walk that skips ahead can be: find
			// the place in the file rather than read up to it.
			switch far, err := it.entry(next + postingsChunk - 1); {
			case err != nil:
				return 0, false, err
			case far < x:
				if at, err = it.searchFile(next+postingsChunk, it.n, x); err != nil {
					return 0, false, err
				}
				at = min(at, it.n-1)
			}
		}
		if err := it.load(at); err != nil {
			return 0, false, err
		}
	}
}

// RecordTags returns the tags of record i: a search of each tag's postings.
func (s *Stream) RecordTags(i int64) ([]string, error) {
	tags, err := s.Tags()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, tag := range tags {
		it, err := s.postings(tag)
		if err != nil {
			return nil, err
		}
		if err := it.refresh(); err != nil {
			return nil, err
		}
		at, err := it.searchFile(0, it.n, i)
		if err != nil {
			return nil, err
		}
		if at < it.n {
			if v, err := it.entry(at); err == nil && v == i {
				out = append(out, tag)
			}
		}
	}
	return out, nil
}

// A Tagger gives the tags of records asked for one after another, from one
// walk of every tag's postings when they come in ascending order (a scan),
// rather than a search of every tag for each record.
type Tagger struct {
	s     *Stream
	tags  []string
	its   []*postingsIter
	last  int64
	known int64 // records visible when tags was listed: later ones may carry new tags
}

// Tagger starts a walk of the stream's tags.
func (s *Stream) Tagger() (*Tagger, error) {
	t := &Tagger{s: s, last: -1}
	return t, t.list()
}

// list learns the tags the stream has now, keeping the walks begun.
func (t *Tagger) list() error {
	count, err := t.s.Count()
	if err != nil {
		return err
	}
	tags, err := t.s.Tags()
	if err != nil {
		return err
	}
	for _, tag := range tags {
		if !slices.Contains(t.tags, tag) {
			it, err := t.s.postings(tag)
			if err != nil {
				return err
			}
			t.tags, t.its = append(t.tags, tag), append(t.its, it)
		}
	}
	t.known = count
	return nil
}

func (t *Tagger) restart() error {
	for i, tag := range t.tags {
		it, err := t.s.postings(tag)
		if err != nil {
			return err
		}
		t.its[i] = it
	}
	return nil
}

// Tags returns the tags of visible record rec, appended to out in the
// order of the stream's tags. Asked in ascending order, each tag's postings
// are read once, in chunks.
func (t *Tagger) Tags(rec int64, out []string) ([]string, error) {
	if rec >= t.known { // a record that came since: a tag may be new too
		if err := t.list(); err != nil {
			return out, err
		}
	}
	if rec < t.last {
		if err := t.restart(); err != nil {
			return out, err
		}
	}
	t.last = rec
	first := len(out)
	for i, it := range t.its {
		it.setLimit(rec + 1)
		v, ok, err := it.seek(rec)
		if err != nil {
			return out, err
		}
		if ok && v == rec {
			out = append(out, t.tags[i])
		}
	}
	slices.Sort(out[first:]) // tags learnt later come last in t.tags
	return out, nil
}
