package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
)

// repair cuts away what a crashed writer left half-written (SPEC section 1):
// a partial tuple at the end of offsets, tuples whose payload is missing,
// payload bytes past the last end offset, and postings of records that did
// not make it. Readers never counted any of it. It then loads the state the
// writer continues from.
func (w *Writer) repair() error {
	osize, err := fileSize(w.offsets)
	if err != nil {
		return err
	}
	psize, err := fileSize(w.payloads)
	if err != nil {
		return err
	}
	n := osize / w.width
	endOf := func(i int64) (int64, error) {
		if i < 0 {
			return 0, nil
		}
		var b [wordSize]byte
		if _, err := w.offsets.ReadAt(b[:], i*w.width); err != nil {
			return 0, err
		}
		return word(b[:]), nil
	}
	// The visible records are a prefix: ends never decrease, so the first
	// whose end lies past payloads is found by binary search.
	lo, hi := int64(0), n
	for lo < hi {
		mid := lo + (hi-lo)/2
		e, err := endOf(mid)
		if err != nil {
			return err
		}
		if e > psize {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	count := lo
	end, err := endOf(count - 1)
	if err != nil {
		return err
	}
	if cut := osize - count*w.width; cut > 0 {
		slog.Warn("repair: cutting unfinished offsets", "stream", w.dir, "records", count, "bytes", cut)
		if err := w.offsets.Truncate(count * w.width); err != nil {
			return err
		}
	}
	if cut := psize - end; cut > 0 {
		slog.Warn("repair: cutting unfinished payloads", "stream", w.dir, "bytes", cut)
		if err := w.payloads.Truncate(end); err != nil {
			return err
		}
	}
	w.count, w.end = count, end
	w.written = make([]int64, len(w.indices))
	for i := range w.written {
		w.written[i] = math.MinInt64
	}
	if count > 0 {
		buf := make([]byte, w.width)
		if _, err := w.offsets.ReadAt(buf, (count-1)*w.width); err != nil {
			return err
		}
		for i := range w.written {
			w.written[i] = word(buf[wordSize*(1+i):])
		}
	}
	w.last = append([]int64(nil), w.written...)
	return w.repairTags()
}

// repairTags cuts postings of records that are not there, and learns the
// size of every tag file.
func (w *Writer) repairTags() error {
	entries, err := streamFS{w.root}.ReadDir(TagsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		tag := e.Name()
		if e.IsDir() || ValidTag(tag) != nil {
			continue
		}
		f, err := openIn(w.root, tagPath(tag), os.O_RDWR, true)
		if err != nil {
			return err
		}
		size, err := w.validPostings(f, tag)
		f.Close() // opened again when next written: see maxOpenTags
		if err != nil {
			return err
		}
		w.tags[tag] = &tagFile{name: tag, size: size}
	}
	return nil
}

// validPostings returns the size of f's postings below the record count,
// cutting the rest.
func (w *Writer) validPostings(f *os.File, tag string) (int64, error) {
	sz, err := fileSize(f)
	if err != nil {
		return 0, err
	}
	keep := sz / wordSize * wordSize
	var b [wordSize]byte
	for keep > 0 {
		if _, err := f.ReadAt(b[:], keep-wordSize); err != nil && err != io.EOF {
			return 0, err
		}
		if word(b[:]) < w.count {
			break
		}
		keep -= wordSize
	}
	if keep < sz {
		slog.Warn("repair: cutting postings of unwritten records", "stream", w.dir, "tag", tag, "bytes", sz-keep)
		if err := f.Truncate(keep); err != nil {
			return 0, fmt.Errorf("tag %s: %w", tag, err)
		}
	}
	return keep, nil
}

func fileSize(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
