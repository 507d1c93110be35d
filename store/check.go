package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// A Report is what Check found. Problems break the format; Notes are the
// traces of a write in progress or interrupted, which readers skip and the
// writer's repair cuts.
type Report struct {
	Records  int64
	Problems []string
	Notes    []string
}

// OK reports whether the stream has no problems.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// maxProblems bounds a report on a badly damaged stream.
const maxProblems = 20

func (r *Report) problem(format string, args ...any) bool {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	return len(r.Problems) < maxProblems
}

// Check reads the whole stream and verifies every invariant of SPEC
// section 1: tuples whole, ends never decreasing and within payloads, index
// values never decreasing (a note otherwise, as franz's writer allows it), postings ascending and naming existing records.
// It judges the records a reader counts (Count): anything a reader would
// refuse to read among them is a problem, and what lies past them the
// trace of an unfinished write.
func (s *Stream) Check() (*Report, error) { return s.CheckContext(context.Background()) }

// checkEvery is how many tuples Check reads between looks at its context.
const checkEvery = 1 << 16

// CheckContext is Check, ending early with ctx's error.
func (s *Stream) CheckContext(ctx context.Context) (*Report, error) {
	r := &Report{}
	visible, err := s.Count()
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		r.problem("%v", err)
		return r, nil
	}
	osize, err := size(s.offsets)
	if err != nil {
		return nil, err
	}
	psize, err := size(s.payloads)
	if err != nil {
		return nil, err
	}
	n := osize / s.width
	if rest := osize % s.width; rest != 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("offsets ends with %d bytes of an unfinished tuple at byte %d", rest, n*s.width))
	}
	if visible < n {
		r.Notes = append(r.Notes, fmt.Sprintf("records %d to %d: end offsets past the %d bytes of payloads (offsets byte %d): an unfinished write, not visible", visible, n-1, psize, visible*s.width))
	}
	in := bufio.NewReaderSize(io.NewSectionReader(s.offsets, 0, visible*s.width), 1<<20)
	tuple := make([]byte, s.width)
	prev := make([]int64, 1+len(s.indices))
	unsorted := make([]bool, len(s.indices))
	for i := int64(0); i < visible; i++ {
		if i%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if _, err := io.ReadFull(in, tuple); err != nil {
			return nil, fmt.Errorf("stream %s: offsets at byte %d: %w", s.name, i*s.width, err)
		}
		end := word(tuple)
		switch {
		case end < prev[0]:
			if !r.problem("record %d: end offset %d (offsets byte %d) is before the previous end %d", i, end, i*s.width, prev[0]) {
				return r, nil
			}
		case end > psize:
			if !r.problem("record %d: end offset %d (offsets byte %d) is past the %d bytes of payloads, yet later records are visible", i, end, i*s.width, psize) {
				return r, nil
			}
		default:
			prev[0] = end
		}
		for k, name := range s.indices {
			v := word(tuple[wordSize*(1+k):])
			if i > 0 && v < prev[1+k] && !unsorted[k] {
				unsorted[k] = true
				r.Notes = append(r.Notes, fmt.Sprintf("index %q is not sorted: record %d's value %d (offsets byte %d) is less than the previous %d; franz's writer allows it, and its ranges are found by reading every value", name, i, v, i*s.width+wordSize*int64(1+k), prev[1+k]))
			}
			prev[1+k] = v
		}
	}
	r.Records = visible
	if psize > prev[0] {
		r.Notes = append(r.Notes, fmt.Sprintf("payloads has %d bytes past the last record's end %d: an unfinished write", psize-prev[0], prev[0]))
	}
	return r, s.checkTags(r)
}

func (s *Stream) checkTags(r *Report) error {
	entries, err := fs.ReadDir(s.fsys, TagsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", s.name, err)
	}
	for _, e := range entries {
		tag := e.Name()
		if err := ValidTag(tag); err != nil || e.IsDir() {
			r.problem("tags/%s: not a valid tag file", tag)
			continue
		}
		done := false
		err := s.withTag(tag, func(f File) error {
			var err error
			done, err = checkPostings(r, s.name, tag, f)
			return err
		})
		if err != nil || done {
			return err
		}
	}
	return nil
}

// checkPostings checks one tag's postings; done says the report is full.
func checkPostings(r *Report, stream, tag string, f File) (done bool, err error) {
	sz, err := size(f)
	if err != nil {
		return false, err
	}
	if sz%wordSize != 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("tags/%s ends with %d bytes of an unfinished posting", tag, sz%wordSize))
	}
	in := bufio.NewReader(io.NewSectionReader(f, 0, sz/wordSize*wordSize))
	var b [wordSize]byte
	prev := int64(-1)
	for k := int64(0); k < sz/wordSize; k++ {
		if _, err := io.ReadFull(in, b[:]); err != nil {
			return false, fmt.Errorf("stream %s: tags/%s: %w", stream, tag, err)
		}
		v := word(b[:])
		if v <= prev {
			if !r.problem("tags/%s: posting %d (byte %d) is record %d, not after %d", tag, k, k*wordSize, v, prev) {
				return true, nil
			}
			continue
		}
		if v >= r.Records {
			r.Notes = append(r.Notes, fmt.Sprintf("tags/%s: postings from %d (byte %d) name records not yet written", tag, k, k*wordSize))
			break
		}
		prev = v
	}
	return false, nil
}
