package store

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Sync says when an append counts as done.
type Sync int

const (
	// SyncNone: once its bytes are in the kernel; they survive the process
	// being killed, not the machine losing power.
	SyncNone Sync = iota
	// SyncBatch: once on disk; concurrent flushes share one fsync (group commit).
	SyncBatch
	// SyncAlways: once on disk, each flush with fsyncs of its own, the
	// payloads and postings made durable before the offsets that publish them.
	SyncAlways
)

// ParseSync parses "none", "batch" or "always".
func ParseSync(s string) (Sync, error) {
	switch s {
	case "none":
		return SyncNone, nil
	case "batch":
		return SyncBatch, nil
	case "always":
		return SyncAlways, nil
	}
	return 0, fmt.Errorf("sync mode %q: want none, batch or always", s)
}

func (s Sync) String() string { return [...]string{"none", "batch", "always"}[s] }

// Now, as a value of the time index, asks the writer to stamp the record
// with its arrival in Unix nanoseconds, never less than the previous value.
const Now int64 = math.MinInt64

// A Record is one record to append: its payload, its values of the stream's
// indices in the order of Indices, and its tags.
type Record struct {
	Payload []byte
	Index   []int64
	Tags    []string
}

// WriterOptions configure OpenWriter.
type WriterOptions struct {
	// Create makes the stream, with Indices, if it does not exist.
	Create bool
	// Indices are the index names of a stream that Create makes.
	Indices []string
	// Sync is the durability of a flush.
	Sync Sync
	// Buffer is how many bytes of appended records are held in memory
	// before they are written; 0 writes every Append at once. Records held
	// are invisible to readers until Flush.
	Buffer int
}

// Writer appends to one stream. It holds the stream's lock until Close and
// is safe for concurrent use.
//
// A record is acknowledged when the call that wrote it returns nil: Append
// or AppendBatch with no Buffer, else the next Flush. A write that fails is
// undone, so the stream never holds part of a flush. If it held records of
// calls that had already returned (with a Buffer), the writer refuses
// everything until reopened, so that no Flush acknowledges them.
//
// Lock order: syncMu before mu.
type Writer struct {
	dir     string   // for errors: the path the stream was opened by
	root    *os.Root // the stream's directory, held open
	indices []string
	width   int64
	timeIdx int // position of the time index, -1 if none
	opts    WriterOptions

	mu       sync.Mutex
	payloads *os.File            // GUARDED_BY(mu)
	offsets  *os.File            // GUARDED_BY(mu)
	lock     *os.File            // GUARDED_BY(mu)
	tags     map[string]*tagFile // GUARDED_BY(mu)
	posted   []*tagFile          // GUARDED_BY(mu): those with postings held
	dirty    []*tagFile          // GUARDED_BY(mu): those written since their last fsync
	openTags int                 // GUARDED_BY(mu): tag files open
	flushNo  uint64              // GUARDED_BY(mu): flushes begun
	count    int64               // GUARDED_BY(mu): records written
	end      int64               // GUARDED_BY(mu): payload bytes written
	written  []int64             // GUARDED_BY(mu): last index values written
	last     []int64             // GUARDED_BY(mu): last index values appended
	pending  int64               // GUARDED_BY(mu): records held in the buffers
	pbuf     payloadBuf          // GUARDED_BY(mu): their payloads
	obuf     []byte              // GUARDED_BY(mu): their offsets tuples
	saved    []int64             // GUARDED_BY(mu): last, before a batch that may be undone
	broken   error               // GUARDED_BY(mu): a failure that could not be undone
	closed   bool                // GUARDED_BY(mu)

	flushes atomic.Uint64 // flushes written to the kernel
	fsyncs  atomic.Uint64 // fsync calls made

	syncMu   sync.Mutex
	syncDone *sync.Cond // signalled when a group fsync ends
	synced   uint64     // GUARDED_BY(syncMu): flushes known on disk
	syncing  bool       // GUARDED_BY(syncMu)
}

type tagFile struct {
	name    string
	f       *os.File // nil while closed (see trimTags)
	size    int64    // bytes written
	pending []byte   // postings held
	dirty   bool     // written since its last fsync
	flush   uint64   // the flush that last wrote it
}

// maxOpenTags bounds the tag files a writer keeps open between flushes:
// past it, those the last flush did not write, and that need no fsync,
// are closed, to be opened again when next used. A stream of thousands
// of tags then costs no more descriptors than one of sixteen.
const maxOpenTags = 16

// OpenWriter opens the stream in dir, a path the caller chose, for
// appending, creating it if asked, takes its lock, and repairs what a
// crashed writer left (SPEC section 1).
func OpenWriter(dir string, opts WriterOptions) (*Writer, error) {
	if err := validNewIndices(os.Lstat, filepath.Join(dir, OffsetsFile), opts); err != nil {
		return nil, fmt.Errorf("stream %s: %w", dir, err)
	}
	if opts.Create {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("stream %s: %w", dir, err)
		}
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("stream %s: no such stream: %w", dir, ErrNotFound)
		}
		return nil, fmt.Errorf("stream %s: %w", dir, err)
	}
	return openWriter(r, dir, opts)
}

// OpenWriterIn opens stream name beneath the live root for appending, as
// OpenWriter does. No symbolic link on the way may lead out of the root,
// and a stream is never made inside another stream, nor around one.
func OpenWriterIn(root *os.Root, name string, opts WriterOptions) (*Writer, error) {
	if err := ValidStreamName(name); err != nil {
		return nil, err
	}
	if err := validNewIndices(root.Lstat, path.Join(name, OffsetsFile), opts); err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	made := "" // the first folder of name that MkdirAll made
	if opts.Create {
		if err := checkNesting(root, name); err != nil {
			return nil, fmt.Errorf("stream %s: %w", name, err)
		}
		for p := name; p != "."; p = path.Dir(p) {
			if _, err := root.Lstat(p); err == nil {
				break
			}
			made = p
		}
		if err := root.MkdirAll(name, 0o755); err != nil {
			return nil, fmt.Errorf("stream %s: %w", name, ConfinementErr(err))
		}
	}
	r, err := openStreamRoot(root, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("stream %s: no such stream: %w", name, ErrNotFound)
		}
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	w, err := openWriter(r, path.Join(root.Name(), name), opts)
	if err != nil && made != "" {
		// The folders made for it go too, as far as they are empty.
		for p := name; ; p = path.Dir(p) {
			if root.Remove(p) != nil || p == made {
				break
			}
		}
	}
	return w, err
}

// checkNesting refuses a stream name that lies inside a stream: its
// folders, tags or views would be taken for records, or hidden.
func checkNesting(root *os.Root, name string) error {
	for i := range len(name) {
		if name[i] != '/' {
			continue
		}
		if _, err := root.Lstat(path.Join(name[:i], OffsetsFile)); err == nil {
			return fmt.Errorf("%w: %s is a stream, and a stream cannot hold another", ErrBadName, name[:i])
		}
	}
	return nil
}

// checkNotAround refuses to make a stream of a directory that holds
// folders (with streams in them, or to be): it would hide them.
func checkNotAround(r *os.Root) error {
	d, err := r.Open(".")
	if err != nil {
		return err
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() && e.Name() != TagsDir {
			return fmt.Errorf("%w: it holds the folder %s, and a stream cannot hold streams", ErrBadName, e.Name())
		}
	}
	return nil
}

// validNewIndices checks the index names of a stream to be created, before
// anything is made for it: a stream that exists (offsets is there) keeps
// the ones it has, franz's unnamed index and all.
func validNewIndices(lstat func(string) (fs.FileInfo, error), offsets string, opts WriterOptions) error {
	if _, err := lstat(offsets); !opts.Create || !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return validIndexNames(opts.Indices)
}

func validIndexNames(names []string) error {
	if len(names) > MaxIndices {
		return fmt.Errorf("%w: %d indices, more than %d", ErrBadRecord, len(names), MaxIndices)
	}
	for _, name := range names {
		if err := ValidIndexName(name); err != nil {
			return err
		}
	}
	return nil
}

func openWriter(r *os.Root, dir string, opts WriterOptions) (*Writer, error) {
	_, err := r.Lstat(OffsetsFile)
	creating := errors.Is(err, os.ErrNotExist)
	switch {
	case creating && !opts.Create:
		r.Close()
		return nil, fmt.Errorf("stream %s: no such stream: %w", dir, ErrNotFound)
	case creating:
		err = checkNotAround(r)
	}
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("stream %s: %w", dir, err)
	}
	lock, err := lockStream(r, dir)
	if err != nil {
		r.Close()
		return nil, err
	}
	w := &Writer{dir: dir, root: r, opts: opts, lock: lock, tags: map[string]*tagFile{}}
	if opts.Buffer > 0 {
		// Allocated once: grown by append, the buffers would be garbage
		// many times over, and the collections cost more than they hold.
		w.pbuf.segs = [][]byte{make([]byte, 0, opts.Buffer)}
		w.obuf = make([]byte, 0, opts.Buffer/4)
	}
	w.syncDone = sync.NewCond(&w.syncMu)
	if err := w.open(); err != nil {
		if creating {
			r.Remove(lockFile) // create removed what else it wrote
		}
		w.closeFiles()
		return nil, fmt.Errorf("stream %s: %w", dir, err)
	}
	return w, nil
}

func (w *Writer) open() error {
	_, err := w.root.Lstat(OffsetsFile)
	switch {
	case errors.Is(err, os.ErrNotExist) && w.opts.Create:
		if err := w.create(); err != nil {
			return err
		}
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("no offsets file: %w", ErrNotFound)
	case err != nil:
		return err
	}
	indices, err := openRegular(w.root, IndicesFile, os.O_RDONLY, false)
	if err != nil {
		return err
	}
	w.indices, err = readIndices(indices)
	indices.Close()
	if err != nil {
		return err
	}
	w.width = tupleWidth(len(w.indices))
	w.timeIdx = slices.Index(w.indices, TimeIndex)
	if w.payloads, err = openRegular(w.root, PayloadsFile, os.O_RDWR, true); err != nil {
		return err
	}
	if w.offsets, err = openRegular(w.root, OffsetsFile, os.O_RDWR, true); err != nil {
		return err
	}
	return w.repair()
}

// create writes an empty stream. offsets comes last: its existence is what
// makes a directory a stream. If it fails, it removes what it wrote.
func (w *Writer) create() (err error) {
	if err := validIndexNames(w.opts.Indices); err != nil {
		return err
	}
	var wrote []string
	defer func() {
		if err != nil {
			for _, f := range slices.Backward(wrote) {
				w.root.Remove(f)
			}
		}
	}()
	for _, f := range []struct {
		name string
		data []byte
	}{{IndicesFile, formatIndices(w.opts.Indices)}, {PayloadsFile, nil}, {OffsetsFile, nil}} {
		if err := writeFileSync(w.root, f.name, f.data); err != nil {
			return err
		}
		wrote = append(wrote, f.name)
	}
	return syncDir(w.root, ".")
}

// writeFileSync replaces the content of file name beneath r with data, on disk.
func writeFileSync(r *os.Root, name string, data []byte) error {
	f, err := openRegular(r, name, os.O_WRONLY|os.O_CREATE, true)
	if err != nil {
		return err
	}
	err = f.Truncate(0)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

func syncDir(r *os.Root, name string) error {
	d, err := r.Open(name)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// Dir is the stream's directory.
func (w *Writer) Dir() string { return w.dir }

// Indices returns the stream's index names.
func (w *Writer) Indices() []string { return slices.Clone(w.indices) }

// Len returns the number of records appended, including those still held.
func (w *Writer) Len() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.count + w.pending
}

// Append appends one record and returns its number.
func (w *Writer) Append(rec Record) (int64, error) {
	w.mu.Lock()
	seq := w.count + w.pending
	err := w.usable()
	if err == nil {
		err = validTags(rec.Tags)
	}
	if err == nil {
		err = w.encodeOne(w.end+int64(w.pbuf.size+len(rec.Payload)), rec.Index)
	}
	if err != nil {
		w.mu.Unlock()
		return seq, fmt.Errorf("stream %s: record %d: %w", w.dir, seq, err)
	}
	w.pbuf.write(rec.Payload)
	w.post(rec.Tags, seq)
	w.pending++
	return seq, w.flushIfFull(1)
}

// AppendBatch appends records in order, all or none, and returns the number
// of the first. A record the writer refuses fails the whole batch, with
// nothing written.
func (w *Writer) AppendBatch(recs []Record) (int64, error) {
	w.mu.Lock()
	first := w.count + w.pending
	if err := w.usable(); err != nil {
		w.mu.Unlock()
		return first, err
	}
	w.grow(recs)
	m := w.mark()
	for k := range recs {
		rec := &recs[k]
		err := validTags(rec.Tags)
		if err == nil {
			err = w.encodeOne(w.end+int64(w.pbuf.size+len(rec.Payload)), rec.Index)
		}
		if err != nil {
			w.rollback(m)
			w.mu.Unlock()
			return first, fmt.Errorf("stream %s: record %d: %w", w.dir, first+int64(k), err)
		}
		w.pbuf.write(rec.Payload)
	}
	for k := range recs {
		w.post(recs[k].Tags, first+int64(k))
	}
	w.pending += int64(len(recs))
	return first, w.flushIfFull(int64(len(recs)))
}

// grow makes room in the buffers for recs at once, not per record.
func (w *Writer) grow(recs []Record) {
	size := 0
	for k := range recs {
		size += len(recs[k].Payload)
	}
	w.pbuf.grow(size)
	w.obuf = slices.Grow(w.obuf, len(recs)*int(w.width))
}

// encode checks the index values of records against their predecessors',
// stamps Now with the batch's arrival, and appends their offsets tuples.
// Record k's payload ends at base+ends[k], and its values are
// values[k*n:(k+1)*n] for a stream of n indices. It stops at the first record it refuses, and returns how many
// it encoded.
func (w *Writer) encode(base int64, ends, values []int64) (int, error) {
	n, last, timeIdx, obuf := len(w.last), w.last, w.timeIdx, w.obuf
	var now int64 // one reading of the clock for the batch, which arrived as one
	for k, end := range ends {
		vals := values[k*n : k*n+n]
		for i, v := range vals {
			if v < last[i] && !(i == timeIdx && v == Now) {
				return k, fmt.Errorf("%w: index %s value %d is less than the previous %d", ErrBadRecord, w.indices[i], v, last[i])
			}
		}
		obuf = appendWord(obuf, base+end)
		for i, v := range vals {
			if v == Now && i == timeIdx {
				if now == 0 {
					now = time.Now().UnixNano()
				}
				v = max(now, last[i])
			}
			last[i] = v
			obuf = appendWord(obuf, v)
		}
	}
	w.obuf = obuf
	return len(ends), nil
}

// encodeOne encodes a record whose payload ends at end.
func (w *Writer) encodeOne(end int64, values []int64) error {
	if len(values) != len(w.indices) {
		return w.badCount(len(values))
	}
	_, err := w.encode(0, []int64{end}, values)
	return err
}

func (w *Writer) badCount(n int) error {
	return fmt.Errorf("%w: %d index values for %d indices %q", ErrBadRecord, n, len(w.indices), w.indices)
}

func validTags(tags []string) error {
	if len(tags) > MaxRecordTags {
		return fmt.Errorf("%w: %d tags, more than %d", ErrBadRecord, len(tags), MaxRecordTags)
	}
	for _, tag := range tags {
		if err := ValidTag(tag); err != nil {
			return fmt.Errorf("%w: %w", ErrBadRecord, err)
		}
	}
	return nil
}

// post adds record seq to the postings of each of its tags, once each.
func (w *Writer) post(tags []string, seq int64) {
	for i, tag := range tags {
		if !slices.Contains(tags[:i], tag) {
			w.postOne(tag, seq)
		}
	}
}

func (w *Writer) postOne(tag string, seq int64) {
	tf := w.tags[tag]
	if tf == nil {
		tf = &tagFile{name: tag}
		w.tags[tag] = tf
	}
	if len(tf.pending) == 0 {
		w.posted = append(w.posted, tf)
	}
	tf.pending = appendWord(tf.pending, seq)
}

// A mark is how far the buffers went before a batch, to undo it.
type mark struct {
	pbuf bufMark
	obuf int
}

func (w *Writer) mark() mark {
	w.saved = append(w.saved[:0], w.last...)
	return mark{w.pbuf.mark(), len(w.obuf)}
}

// rollback drops what a refused batch buffered. Postings are added only
// after the whole batch passed, so there are none to drop.
func (w *Writer) rollback(m mark) {
	w.pbuf.cut(m.pbuf)
	w.obuf = w.obuf[:m.obuf]
	copy(w.last, w.saved)
}

// flushIfFull writes the buffers once they hold Buffer bytes, and unlocks
// mu. The last own records pending are the calling append's.
func (w *Writer) flushIfFull(own int64) error {
	if w.pbuf.size+len(w.obuf) < w.opts.Buffer {
		w.mu.Unlock()
		return nil
	}
	err := w.flushLocked(own)
	w.mu.Unlock()
	if err != nil {
		return err
	}
	return w.durable()
}

func (w *Writer) usable() error {
	if w.closed {
		return fmt.Errorf("stream %s: %w", w.dir, ErrClosed)
	}
	if w.broken != nil {
		return fmt.Errorf("stream %s: writer failed earlier, reopen to repair: %w", w.dir, w.broken)
	}
	return nil
}

// Broken reports whether the writer failed for good or was closed: its
// stream must be opened anew.
func (w *Writer) Broken() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.usable() != nil
}

// Flush writes the held records and makes them as durable as Sync asks.
func (w *Writer) Flush() error {
	w.mu.Lock()
	err := w.usable()
	if err == nil {
		err = w.flushLocked(0)
	}
	w.mu.Unlock()
	if err != nil {
		return err
	}
	return w.durable()
}

// flushLocked writes the pending records in commit order: payloads, then
// postings, then offsets. A reader counts a record once its tuple is in
// offsets and its bytes in payloads; writing postings before that tuple
// means a visible record has all its tags too, so tag views never change
// behind a reader. On failure everything of this flush is cut away again.
//
// The last own records pending are the caller's, who learns of the
// failure. Records of earlier calls, which returned, were to be
// acknowledged by a later Flush; nothing tells whose they were, so the
// writer then refuses everything until reopened, rather than let such a
// Flush return nil.
func (w *Writer) flushLocked(own int64) error {
	if w.pending == 0 {
		return nil
	}
	err := w.writePending()
	if err != nil {
		w.undo()
		err = fmt.Errorf("stream %s: records %d to %d not written: %w", w.dir, w.count, w.count+w.pending-1, err)
		if w.pending > own {
			w.broken = errors.Join(w.broken, err)
		}
	} else {
		w.count += w.pending
		w.end += int64(w.pbuf.size)
		copy(w.written, w.last)
		w.flushes.Add(1)
	}
	w.pending, w.obuf = 0, w.obuf[:0]
	w.pbuf.reset()
	for _, tf := range w.posted {
		tf.pending = tf.pending[:0]
	}
	w.posted = w.posted[:0]
	w.trimTags()
	return err
}

// trimTags closes tag files until no more than maxOpenTags are open:
// those that need no fsync (with SyncNone, none does) and have no
// postings held, first those the last flush did not write. mu is held.
func (w *Writer) trimTags() {
	for pass := range 2 {
		for _, tf := range w.tags {
			if w.openTags <= maxOpenTags {
				return
			}
			recent := tf.flush == w.flushNo
			if tf.f != nil && len(tf.pending) == 0 && (!tf.dirty || w.opts.Sync == SyncNone) && (pass == 1 || !recent) {
				tf.f.Close()
				tf.f = nil
				w.openTags--
			}
		}
	}
}

func (w *Writer) writePending() error {
	w.flushNo++
	if err := w.pbuf.writeAt(w.payloads, w.end); err != nil {
		return err
	}
	for _, tf := range w.posted {
		if err := w.openTag(tf); err != nil {
			return err
		}
		if _, err := tf.f.WriteAt(tf.pending, tf.size); err != nil {
			return err
		}
		tf.flush = w.flushNo
		if !tf.dirty {
			tf.dirty = true
			w.dirty = append(w.dirty, tf)
		}
	}
	if w.opts.Sync == SyncAlways {
		if err := w.syncTagsAnd(w.payloads); err != nil {
			return err
		}
	}
	if _, err := w.offsets.WriteAt(w.obuf, w.count*w.width); err != nil {
		return err
	}
	if w.opts.Sync == SyncAlways {
		w.fsyncs.Add(1)
		if err := w.offsets.Sync(); err != nil {
			return err
		}
	}
	// A stream removed under the writer would take these records with it:
	// say so rather than acknowledge them. One fstat.
	if fi, err := w.offsets.Stat(); err != nil || links(fi) == 0 {
		w.broken = ErrDeleted
		return errors.Join(ErrDeleted, err)
	}
	for _, tf := range w.posted {
		tf.size += int64(len(tf.pending))
	}
	return nil
}

func (w *Writer) openTag(tf *tagFile) error {
	if tf.f != nil {
		return nil
	}
	if err := w.root.Mkdir(TagsDir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	f, err := openIn(w.root, tagPath(tf.name), os.O_RDWR|os.O_CREATE, true)
	if err != nil {
		return err
	}
	if w.opts.Sync != SyncNone {
		if err := errors.Join(syncDir(w.root, TagsDir), syncDir(w.root, ".")); err != nil {
			f.Close()
			return err
		}
	}
	tf.f = f
	w.openTags++
	return nil
}

// undo cuts the files back to what was written before the failed flush.
func (w *Writer) undo() {
	errs := []error{w.payloads.Truncate(w.end), w.offsets.Truncate(w.count * w.width)}
	for _, tf := range w.posted {
		if tf.f != nil {
			errs = append(errs, tf.f.Truncate(tf.size))
		}
	}
	copy(w.last, w.written)
	if err := errors.Join(errs...); err != nil {
		w.broken = err
	}
}

// durableFiles lists the files a group fsync covers: payloads, offsets and
// the tag files written since their last fsync, which are then counted as
// on disk. mu is held.
func (w *Writer) durableFiles() []*os.File {
	return append([]*os.File{w.payloads, w.offsets}, w.dirtyTags()...)
}

// dirtyTags returns the tag files written since their last fsync, and
// counts them as synced. mu is held.
func (w *Writer) dirtyTags() []*os.File {
	var files []*os.File
	for _, tf := range w.dirty {
		if tf.f != nil { // with SyncNone, trimTags may have closed it
			files = append(files, tf.f)
		}
		tf.dirty = false
	}
	w.dirty = w.dirty[:0]
	return files
}

// syncTagsAnd fsyncs the given files and the tag files written since
// their last fsync. mu is held.
func (w *Writer) syncTagsAnd(files ...*os.File) error {
	return w.syncAll(append(files, w.dirtyTags()...))
}

// syncAll fsyncs files at once, not one after another: the filesystem
// can then commit them together (ext4 joins concurrent fsyncs to one
// journal commit), so tag files add little to an append's wait.
func (w *Writer) syncAll(files []*os.File) error {
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, f := range files {
		if i > 0 {
			wg.Go(func() { errs[i] = f.Sync() })
		}
	}
	if len(files) > 0 {
		errs[0] = files[0].Sync()
	}
	wg.Wait()
	w.fsyncs.Add(uint64(len(files)))
	return errors.Join(errs...)
}

// Fsyncs returns how many fsync calls the writer has made.
func (w *Writer) Fsyncs() uint64 { return w.fsyncs.Load() }

// durable waits, with SyncBatch, until a group fsync covers every flush
// written so far. One caller fsyncs while the others wait for its result.
func (w *Writer) durable() error {
	if w.opts.Sync != SyncBatch {
		return nil
	}
	target := w.flushes.Load()
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	for w.synced < target {
		if w.syncing {
			w.syncDone.Wait()
			continue
		}
		w.syncing = true
		covered := w.flushes.Load()
		w.syncMu.Unlock()
		// Appends go on during the fsync; Close waits for it to end.
		w.mu.Lock()
		files, err := w.durableFiles(), w.usable()
		w.mu.Unlock()
		if err == nil {
			err = w.syncAll(files)
		}
		w.mu.Lock()
		if err != nil {
			// What the failed fsync covered is in doubt, and its files no
			// longer count as unsynced: reopening repairs from what is there.
			w.broken = errors.Join(w.broken, fmt.Errorf("fsync: %w", err))
		} else {
			w.trimTags() // the tag files just synced need no longer be open
		}
		w.mu.Unlock()
		w.syncMu.Lock()
		w.syncing = false
		w.syncDone.Broadcast()
		if err != nil {
			return fmt.Errorf("stream %s: fsync: %w", w.dir, err)
		}
		w.synced = max(w.synced, covered)
	}
	return nil
}

// Sync flushes and fsyncs, whatever the Sync mode.
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	if err := w.flushLocked(0); err != nil {
		return err
	}
	return w.syncAll(w.durableFiles())
}

// Close flushes what is held and releases the stream.
func (w *Writer) Close() error {
	err := w.Flush()
	if errors.Is(err, ErrClosed) {
		return nil
	}
	w.syncMu.Lock()
	for w.syncing {
		w.syncDone.Wait()
	}
	defer w.syncMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	return errors.Join(err, w.closeFiles())
}

func (w *Writer) closeFiles() error {
	var errs []error
	for _, f := range []*os.File{w.payloads, w.offsets} {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	for _, tf := range w.tags {
		if tf.f != nil {
			errs = append(errs, tf.f.Close())
		}
	}
	if w.lock != nil {
		errs = append(errs, w.lock.Close()) // releases the flock
	}
	errs = append(errs, w.root.Close())
	return errors.Join(errs...)
}
