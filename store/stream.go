package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A File is what a Stream needs of each of a stream's files: random reads and
// its current size. *os.File is one; so is a file of an archive image.
type File interface {
	io.ReaderAt
	Stat() (fs.FileInfo, error)
	Close() error
}

// Stream reads one stream. It is safe for concurrent use. Opening reads only
// the indices file; every other read touches the few words it needs.
type Stream struct {
	name    string // for errors and stat.json: the directory or image path
	fsys    fs.FS
	live    bool     // files may grow; an archive's never do
	root    *os.Root // a live stream's directory, held open
	dir     string
	indices []string
	width   int64

	payloads File
	offsets  File
	pmap     *mapping // payloads and offsets in memory, for a live stream; see mmap.go
	omap     *mapping

	known    atomic.Int64 // records known to be visible; never decreases
	knownEnd atomic.Int64 // their end in payloads; stored before known

	mu       sync.Mutex
	tagFiles tagFiles  // GUARDED_BY(mu): open tag files, see tagfiles.go
	notify   *notifier // GUARDED_BY(mu): started by the first Wait
	closed   bool      // GUARDED_BY(mu)

	blocks     blockCache // first values of search blocks, see search.go
	sortedness sortedness // which indices are sorted, see sorted.go
}

// OpenDir opens the live stream in directory dir, a path the caller
// chose. Its files are opened as confinement asks (see dir.go).
func OpenDir(dir string) (*Stream, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("stream %s: no such stream: %w", dir, ErrNotFound)
		}
		return nil, fmt.Errorf("stream %s: %w", dir, err)
	}
	return openLive(r, dir)
}

// OpenIn opens the live stream name beneath the live root: no symbolic
// link on the way may lead out of it.
func OpenIn(root *os.Root, name string) (*Stream, error) {
	r, err := openStreamRoot(root, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("stream %s: no such stream: %w", name, ErrNotFound)
		}
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	return openLive(r, path.Join(root.Name(), name))
}

func openLive(r *os.Root, dir string) (*Stream, error) {
	s, err := open(streamFS{r}, dir, true)
	if err != nil {
		r.Close()
		return nil, err
	}
	s.root, s.dir = r, dir
	s.pmap, s.omap = newMapping(s.payloads), newMapping(s.offsets)
	return s, nil
}

// OpenFS opens a stream whose files never change, such as one in an archive
// image. name says where it is, in errors and figures.
func OpenFS(fsys fs.FS, name string) (*Stream, error) {
	return open(fsys, name, false)
}

func open(fsys fs.FS, name string, live bool) (*Stream, error) {
	s := &Stream{name: name, fsys: fsys, live: live}
	f, err := fsys.Open(IndicesFile)
	if err != nil {
		return nil, s.openErr(IndicesFile, err)
	}
	s.indices, err = readIndices(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	s.width = tupleWidth(len(s.indices))
	if s.offsets, err = s.openFile(OffsetsFile); err != nil {
		return nil, err
	}
	if s.payloads, err = s.openFile(PayloadsFile); err != nil {
		s.offsets.Close()
		return nil, err
	}
	return s, nil
}

func (s *Stream) openFile(name string) (File, error) {
	f, err := s.fsys.Open(name)
	if err != nil {
		return nil, s.openErr(name, err)
	}
	rf, ok := f.(File)
	if !ok {
		f.Close()
		return nil, fmt.Errorf("stream %s: %s does not support random reads", s.name, name)
	}
	return rf, nil
}

func (s *Stream) openErr(file string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("stream %s: no such stream (no %s file): %w", s.name, file, ErrNotFound)
	}
	return fmt.Errorf("stream %s: %w", s.name, err)
}

// Name is the directory or image path the stream was opened from.
func (s *Stream) Name() string { return s.name }

// Live reports whether the stream may still grow.
func (s *Stream) Live() bool { return s.live }

// Indices returns the index names, in the order of the offsets tuples.
func (s *Stream) Indices() []string { return slices.Clone(s.indices) }

// IndexNumber returns the position of index name, or ErrNotFound. A name
// that franz's writer was given twice means the later one, as to franz.
func (s *Stream) IndexNumber(name string) (int, error) {
	for i, index := range slices.Backward(s.indices) {
		if index == name {
			return i, nil
		}
	}
	return -1, fmt.Errorf("stream %s: index %q: %w", s.name, name, ErrNotFound)
}

// Close releases the stream's files.
func (s *Stream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.notify != nil {
		s.notify.stop()
	}
	s.tagFiles.closeAll()
	s.pmap.close()
	s.omap.close()
	errs := []error{s.offsets.Close(), s.payloads.Close()}
	if s.root != nil {
		errs = append(errs, s.root.Close())
	}
	return errors.Join(errs...)
}

func size(f File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Count returns the number of visible records: those whose whole tuple is in
// offsets and whose end lies within payloads. It never decreases.
func (s *Stream) Count() (int64, error) {
	known := s.known.Load()
	if !s.live && known > 0 {
		return known, nil
	}
	// offsets before payloads: the writer grows payloads first, so any tuple
	// seen here has its bytes in a payloads size read afterwards.
	osize, err := size(s.offsets)
	if err != nil {
		return known, fmt.Errorf("stream %s: %w", s.name, err)
	}
	n := osize / s.width
	if n <= known {
		return known, nil
	}
	psize, err := size(s.payloads)
	if err != nil {
		return known, fmt.Errorf("stream %s: %w", s.name, err)
	}
	last, err := s.end(n - 1)
	if err != nil {
		return known, err
	}
	if last > psize {
		// Tuples beyond the payloads: a crash, or a torn copy. Count up to
		// the last record whose bytes are all there.
		n, err = s.searchRecords(known, n, func(i int64) (bool, error) {
			e, err := s.end(i)
			return e > psize, err
		})
		if err != nil {
			return known, err
		}
	}
	end, err := s.end(n - 1)
	if err != nil {
		return known, err
	}
	if end < 0 {
		return known, fmt.Errorf("stream %s: record %d ends at byte %d (offsets byte %d): %w", s.name, n-1, end, (n-1)*s.width, ErrCorrupt)
	}
	storeMax(&s.knownEnd, end)
	storeMax(&s.known, n)
	return s.known.Load(), nil
}

func storeMax(a *atomic.Int64, v int64) {
	for old := a.Load(); v > old && !a.CompareAndSwap(old, v); old = a.Load() {
	}
}

// searchRecords returns the first i in [lo, hi) for which f is true, hi if none.
func (s *Stream) searchRecords(lo, hi int64, f func(int64) (bool, error)) (int64, error) {
	for lo < hi {
		mid := lo + (hi-lo)/2
		ok, err := f(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}

// readWords reads len(buf) bytes of offsets at off.
func (s *Stream) readWords(buf []byte, off int64) error {
	return s.readFull(s.offsets, OffsetsFile, buf, off)
}

// readFull reads len(p) bytes of file f at off; a short read means the
// file is shorter than the records that point into it.
func (s *Stream) readFull(f File, name string, p []byte, off int64) error {
	if m := s.mapOf(f); m != nil && len(p) <= mapRead {
		switch ok, err := m.copyAt(p, off); {
		case err != nil:
			return fmt.Errorf("stream %s: %s at byte %d: %w: %w", s.name, name, off, ErrCorrupt, err)
		case ok:
			return nil
		}
	}
	n, err := f.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("stream %s: %s at byte %d: %w: %v", s.name, name, off, ErrCorrupt, err)
}

// end returns the end offset of record i in payloads; end(-1) is 0.
func (s *Stream) end(i int64) (int64, error) {
	if i < 0 {
		return 0, nil
	}
	var buf [wordSize]byte
	if err := s.readWords(buf[:], i*s.width); err != nil {
		return 0, err
	}
	return word(buf[:]), nil
}

// Span returns the byte range [start, end) in payloads of records first to
// last, both included, which must be visible. It reads two words.
func (s *Stream) Span(first, last int64) (start, end int64, err error) {
	if last < first {
		e, err := s.end(first - 1)
		return e, e, err
	}
	if first == last && first > 0 {
		// One read covers end(first-1) and end(first).
		var buf [wordSize * 17]byte
		b := buf[:]
		if s.width+wordSize > int64(len(buf)) {
			b = make([]byte, s.width+wordSize)
		}
		b = b[:s.width+wordSize]
		if err := s.readWords(b, (first-1)*s.width); err != nil {
			return 0, 0, err
		}
		start, end = word(b), word(b[s.width:])
	} else {
		if start, err = s.end(first - 1); err != nil {
			return 0, 0, err
		}
		if end, err = s.end(last); err != nil {
			return 0, 0, err
		}
	}
	return start, end, s.checkSpan(first, last, start, end)
}

// checkSpan verifies that records first..last, read from offsets as bytes
// [start, end), lie within the visible payloads: a damaged offsets file
// must not make a reader allocate or read beyond them.
func (s *Stream) checkSpan(first, last, start, end int64) error {
	if start < 0 || end < start || end > s.knownEnd.Load() {
		return fmt.Errorf("stream %s: records %d to %d span bytes %d to %d, not within the %d bytes of visible records: %w",
			s.name, first, last, start, end, s.knownEnd.Load(), ErrCorrupt)
	}
	return nil
}

// checkVisible returns ErrNotFound unless records first..last exist.
func (s *Stream) checkVisible(first, last int64) error {
	if first < 0 {
		return fmt.Errorf("stream %s: record %d: %w", s.name, first, ErrNotFound)
	}
	if last < s.known.Load() {
		return nil
	}
	n, err := s.Count()
	if err != nil {
		return err
	}
	if last >= n {
		return fmt.Errorf("stream %s: record %d of %d: %w", s.name, last, n, ErrNotFound)
	}
	return nil
}

// Record returns the payload of record i.
func (s *Stream) Record(i int64) ([]byte, error) {
	return s.AppendRecord(nil, i)
}

// AppendRecord appends the payload of record i to buf.
func (s *Stream) AppendRecord(buf []byte, i int64) ([]byte, error) {
	if err := s.checkVisible(i, i); err != nil {
		return buf, err
	}
	start, end, err := s.Span(i, i)
	if err != nil {
		return buf, err
	}
	n := len(buf)
	buf = slices.Grow(buf, int(end-start))[:n+int(end-start)]
	if err := s.readPayloads(buf[n:], start); err != nil {
		return buf[:n], err
	}
	return buf, nil
}

// readPayloads reads len(p) bytes of payloads at off, all of which must
// belong to visible records.
func (s *Stream) readPayloads(p []byte, off int64) error {
	return s.readFull(s.payloads, PayloadsFile, p, off)
}

// IndexValue returns record i's value of index number idx.
func (s *Stream) IndexValue(idx int, i int64) (int64, error) {
	if idx < 0 || idx >= len(s.indices) {
		return 0, fmt.Errorf("stream %s: index number %d: %w", s.name, idx, ErrNotFound)
	}
	if err := s.checkVisible(i, i); err != nil {
		return 0, err
	}
	var buf [wordSize]byte
	if err := s.readWords(buf[:], i*s.width+wordSize*int64(1+idx)); err != nil {
		return 0, err
	}
	return word(buf[:]), nil
}

// Bytes returns the payload bytes of the visible records.
func (s *Stream) Bytes() (int64, error) {
	n, err := s.Count()
	if err != nil {
		return 0, err
	}
	return s.end(n - 1)
}

// File opens one of the stream's own files (payloads, offsets, indices,
// tags/T) as stored, so that the mount can serve them byte for byte.
func (s *Stream) File(name string) (File, error) {
	switch tag, isTag := strings.CutPrefix(name, TagsDir+"/"); {
	case name == PayloadsFile, name == OffsetsFile, name == IndicesFile:
	case isTag && ValidTag(tag) == nil:
	default:
		return nil, fmt.Errorf("stream %s: file %q: %w", s.name, name, ErrNotFound)
	}
	return s.openFile(name)
}

// Rows returns where the offsets tuples of visible records [first, end)
// and their payload bytes are stored: what franz's protocol copies to its
// clients as they are.
func (s *Stream) Rows(first, end int64) (tuples, payloads Section, err error) {
	start, stop, err := s.Span(first, end-1)
	if err != nil {
		return Section{}, Section{}, err
	}
	tuples = Section{s, OffsetsFile, s.offsets, first * s.width, (end - first) * s.width}
	payloads = Section{s, PayloadsFile, s.payloads, start, stop - start}
	return tuples, payloads, nil
}

// A Section is a stretch of one of a stream's files that must be there
// whole.
type Section struct {
	s    *Stream
	name string
	File File
	Off  int64
	N    int64
}

// Reader reads the section; one that comes short is ErrCorrupt.
func (sec Section) Reader() io.Reader {
	return &fullReader{sec, io.NewSectionReader(sec.File, sec.Off, sec.N)}
}

// short is the error of a section that ended n bytes in.
func (sec Section) short(n int64) error {
	return fmt.Errorf("stream %s: %s ends before byte %d: %w", sec.s.name, sec.name, sec.Off+n, ErrCorrupt)
}

type fullReader struct {
	sec Section
	r   *io.SectionReader
}

func (f *fullReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		if off, _ := f.r.Seek(0, io.SeekCurrent); off < f.r.Size() {
			return n, f.sec.short(off)
		}
	}
	return n, err
}

// A FileExtent is the part of a stream file that a snapshot holds.
type FileExtent struct {
	Name    string // payloads, offsets, indices, tags/T
	Size    int64
	ModTime time.Time // the file's, when the snapshot was taken
}

// Snapshot returns, as of one record boundary, how much of each of the
// stream's files holds its records: copying those prefixes gives a stream
// of exactly those records, whatever the writer does meanwhile.
func (s *Stream) Snapshot() (records int64, files []FileExtent, err error) {
	if records, err = s.Count(); err != nil {
		return 0, nil, err
	}
	bytes, err := s.end(records - 1)
	if err != nil {
		return 0, nil, err
	}
	indices, err := s.File(IndicesFile)
	if err != nil {
		return 0, nil, err
	}
	isize, err := size(indices)
	indices.Close()
	if err != nil {
		return 0, nil, err
	}
	files = []FileExtent{{Name: IndicesFile, Size: isize}, {Name: PayloadsFile, Size: bytes}, {Name: OffsetsFile, Size: records * s.width}}
	tags, err := s.Tags()
	if err != nil {
		return 0, nil, err
	}
	for _, tag := range tags {
		n, err := s.tagCountBelow(tag, records)
		if err != nil {
			return 0, nil, err
		}
		files = append(files, FileExtent{Name: tagPath(tag), Size: n * wordSize})
	}
	for i := range files {
		f, err := s.File(files[i].Name)
		if err != nil {
			return 0, nil, err
		}
		fi, err := f.Stat()
		f.Close()
		if err != nil {
			return 0, nil, err
		}
		files[i].ModTime = fi.ModTime()
	}
	return records, files, nil
}

// Current reports whether the stream's directory still holds the files it
// opened: false once the stream was deleted, or deleted and made anew.
func (s *Stream) Current() bool {
	if s.dir == "" {
		return true
	}
	fi, err := os.Lstat(filepath.Join(s.dir, OffsetsFile))
	if err != nil {
		return false
	}
	open, err := s.offsets.Stat()
	return err == nil && os.SameFile(fi, open)
}

// Deleted reports whether the stream's files were removed while it was
// open: they then have no name left. One fstat.
func (s *Stream) Deleted() bool {
	if s.root == nil {
		return false
	}
	fi, err := s.offsets.Stat()
	return err == nil && links(fi) == 0
}

// Dir is the directory of a live stream, "" for others.
func (s *Stream) Dir() string { return s.dir }

// tagPath is the path of tag T's postings within the stream.
func tagPath(tag string) string { return filepath.ToSlash(filepath.Join(TagsDir, tag)) }

// mapOf returns the mapping of f, one of the stream's files, if it has one.
func (s *Stream) mapOf(f File) *mapping {
	switch f {
	case s.payloads:
		return s.pmap
	case s.offsets:
		return s.omap
	}
	return nil
}
