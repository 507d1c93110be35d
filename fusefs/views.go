package fusefs

import (
	"context"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/franzfs/franzfs/store"
)

// viewFile is a view of records: seq/N, seq/A:B, index/NAME/X:Y, tag/T,
// query/EXPR. The bytes at an offset of a view never change, only its size
// grows, so the kernel keeps its pages (FOPEN_KEEP_CACHE); how it learns
// of growth is tell's business.
type viewFile struct {
	fs.Inode
	noFlush
	stream *streamNode
	name   string
	v      store.View

	mu    sync.Mutex
	told  int64     // GUARDED_BY(mu): the size the kernel was last given
	since time.Time // GUARDED_BY(mu): the view's time: its stream's when first told
	opens int       // GUARDED_BY(mu): files open on it
	paged bool      // GUARDED_BY(mu): the kernel may hold pages of it
}

func (n *viewFile) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if !n.v.Final() && n.stream.s.Deleted() {
		return syscall.ENOENT // tail -f ends: the view will not grow
	}
	size, since, err := n.tell()
	if err != nil {
		return n.stream.m.errno(err, n.stream.where(n.name))
	}
	n.stream.fileAttr(&out.Attr)
	out.Size = uint64(size)
	// A view's time never moves: the kernel drops the cached pages of a
	// file whose time changes, undoing growth told by storing its bytes
	// (see tell); and the bytes a view has never change.
	if !since.IsZero() {
		out.SetTimes(&since, &since, &since)
	}
	if n.v.Final() {
		out.SetTimeout(stableTimeout)
	} else {
		out.SetTimeout(growingTimeout)
	}
	return 0
}

func (n *viewFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	n.mu.Lock()
	n.opens++
	n.paged = true
	n.mu.Unlock()
	if n.v.Final() {
		n.storeSmall()
		return nil, fuse.FOPEN_KEEP_CACHE, 0
	}
	// The kernel keeps a size it was given for a jiffy at least, and may
	// read by it without asking again: a view that grew since is told now,
	// so that an open after an acknowledged append reads the record.
	if _, _, err := n.tell(); err != nil {
		n.Release(ctx, nil)
		return nil, 0, n.stream.m.errno(err, n.stream.where(n.name))
	}
	return nil, fuse.FOPEN_KEEP_CACHE, 0
}

func (n *viewFile) Release(ctx context.Context, f fs.FileHandle) syscall.Errno {
	n.mu.Lock()
	n.opens--
	n.mu.Unlock()
	return 0
}

// tell returns the view's size, to be given to the kernel, and its time.
//
// The kernel caches the page holding the end of a file with zeros after
// the end. When it learns that the file grew, it drops that page, but a
// reader whose read of the page was in flight still copies it, under the
// new size: zeros in place of the new records (TestMountConcurrentReaders
// failed 5 runs in 10 that way). So, while files are open, the kernel
// learns of growth by a store of the new bytes into its page cache (FUSE
// notify store): they land in the very page such a reader holds, and the
// store sets the new size. With none open, no read is in flight: the pages
// are dropped before the new size is given.
func (n *viewFile) tell() (int64, time.Time, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	size, err := n.v.Size()
	if n.since.IsZero() {
		_, files := n.stream.access()
		n.since = files.ModTime
	}
	if err != nil || size <= n.told {
		return size, n.since, err
	}
	if n.paged && (n.opens == 0 || !n.storeGrowth(size)) {
		n.NotifyContent(0, 0)
		n.paged = false
	}
	n.told = size
	return size, n.since, nil
}

// storeChunk bounds what one store copies. Each store ends at a record
// boundary: the size it sets is a whole number of records.
const storeChunk = 1 << 20

var pageSize = int64(os.Getpagesize())

// storeGrowth stores the view's bytes from the page holding the old end to
// size into the page cache, and reports whether that worked. mu is held.
func (n *viewFile) storeGrowth(size int64) bool {
	var buf []byte
	for from := n.told &^ (pageSize - 1); from < size; {
		to, err := n.v.Boundary(min(from+storeChunk, size))
		if err != nil {
			return false
		}
		buf = slices.Grow(buf[:0], int(to-from))[:to-from]
		if k, err := n.v.ReadAt(buf, from); k < len(buf) || (err != nil && !isEOF(err)) {
			return false
		}
		switch n.WriteCache(from, buf) {
		case 0:
		case syscall.ENOENT:
			return true // the kernel forgot the file, and its pages
		default:
			return false
		}
		from = to
	}
	return true
}

// storeMax is the largest view whose bytes an open puts into the kernel's
// page cache.
const storeMax = 16 << 10

// storeSmall puts the bytes of a small view that can no longer change into
// the page cache (FUSE notify store), so that the reads after the open are
// served by the kernel: for a record, one round trip to this process
// fewer. Failure only costs that round trip.
func (n *viewFile) storeSmall() {
	size, err := n.v.Size()
	if err != nil || size == 0 || size > storeMax {
		return
	}
	buf := make([]byte, size)
	if k, err := n.v.ReadAt(buf, 0); k == len(buf) && (err == nil || isEOF(err)) {
		n.WriteCache(0, buf)
	}
}

func (n *viewFile) Read(ctx context.Context, f fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if loc, ok := n.v.(store.Locator); ok {
		file, pos, k, err := loc.Locate(off, len(dest))
		if err != nil {
			return nil, n.stream.m.errno(err, n.stream.where(n.name))
		}
		if osf, ok := file.(*os.File); ok && k >= spliceMin {
			// The kernel splices the bytes from payloads to the reader.
			return fuse.ReadResultFd(osf.Fd(), pos, k), 0
		}
	}
	k, err := n.v.ReadAt(dest, off)
	if err != nil && !isEOF(err) {
		return nil, n.stream.m.errno(err, n.stream.where(n.name))
	}
	return fuse.ReadResultData(dest[:k]), 0
}

// spliceMin is the smallest read served by splice. Splicing a short read
// costs more than copying it: the pipe, and the kernel zeroing the rest of
// the page it moves.
const spliceMin = 64 << 10

// lookupView opens view p of the stream as a child. A name whose
// meaning moves with the stream or the clock (seq/-1, index/time/-15m:) is
// looked up afresh every time; any other is cached.
func lookupView(ctx context.Context, parent *fs.Inode, name string, stream *streamNode, p store.Path, err error, moving bool, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if err != nil {
		return nil, syscall.ENOENT
	}
	if !moving {
		if ch := existing(parent, name, always[*viewFile]); ch != nil {
			if errno := getattr(ctx, ch.Operations(), out); errno != 0 {
				return nil, errno
			}
			out.SetEntryTimeout(stableTimeout)
			return ch, 0
		}
	}
	where := stream.where(p.String())
	v, err := stream.s.View(p)
	if err != nil {
		return nil, stream.m.errno(err, where)
	}
	node := &viewFile{stream: stream, name: p.String(), v: v}
	var attr fuse.AttrOut
	if errno := node.Getattr(ctx, nil, &attr); errno != 0 {
		return nil, errno
	}
	out.Attr = attr.Attr
	out.SetAttrTimeout(attr.Timeout())
	if !moving {
		out.SetEntryTimeout(stableTimeout)
	}
	return parent.NewInode(ctx, node, fs.StableAttr{Mode: fuse.S_IFREG}), 0
}

// seqDir is seq/: one name per record, and ranges looked up by name.
type seqDir struct {
	fs.Inode
	stream *streamNode
}

func (n *seqDir) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	return n.stream.dirAttr(out)
}

func (n *seqDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	p, err := store.ParseSeq(name)
	moving := p.From.V < 0 || p.To.V < 0
	for _, item := range p.List { // resolved when opened: an open end moves too
		moving = moving || item.From.V < 0 || item.To.V < 0 || (item.Kind == store.KindRange && !item.To.Set)
	}
	return lookupView(ctx, n.EmbeddedInode(), name, n.stream, p, err, moving, out)
}

// OpendirHandle lists the records visible when the listing starts. Names
// are made as the kernel reads them, so a listing of millions costs no
// memory per record.
func (n *seqDir) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	count, err := n.stream.s.Count()
	if err != nil {
		return nil, 0, n.stream.m.errno(err, n.stream.where(store.SeqDir))
	}
	return &seqListing{count: count}, 0, 0
}

type seqListing struct {
	next, count int64
}

// seqInoBase keeps the inode numbers shown in a listing apart from real
// ones; glibc skips entries whose inode number is 0.
const seqInoBase = 1 << 48

func (l *seqListing) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	if l.next >= l.count {
		return nil, 0
	}
	i := l.next
	l.next++
	return &fuse.DirEntry{Name: strconv.FormatInt(i, 10), Mode: fuse.S_IFREG, Ino: seqInoBase + uint64(i), Off: uint64(l.next)}, 0
}

func (l *seqListing) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	l.next = int64(off)
	return 0
}

func (l *seqListing) Releasedir(ctx context.Context, releaseFlags uint32) {}

// indexDir is index/: a folder per index.
type indexDir struct {
	fs.Inode
	stream *streamNode
}

func (n *indexDir) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	return n.stream.dirAttr(out)
}

func (n *indexDir) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	var names []string
	for _, index := range n.stream.s.Indices() {
		if name := store.IndexPathName(index); !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return dirList(names, fuse.S_IFDIR), 0
}

// Lookup takes an index name as IndexPathName spells it.
func (n *indexDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	index, err := store.ParseIndexPathName(name)
	if err != nil {
		return nil, syscall.ENOENT
	}
	if _, err := n.stream.s.IndexNumber(index); err != nil {
		return nil, syscall.ENOENT
	}
	var attr fuse.AttrOut
	n.stream.dirAttr(&attr)
	out.Attr = attr.Attr
	out.SetEntryTimeout(stableTimeout)
	out.SetAttrTimeout(attr.Timeout())
	if ch := existing(n.EmbeddedInode(), name, always[*indexRangeDir]); ch != nil {
		return ch, 0
	}
	return n.NewInode(ctx, &indexRangeDir{stream: n.stream, index: index}, fs.StableAttr{Mode: fuse.S_IFDIR}), 0
}

// indexRangeDir is index/NAME/: ranges of values, looked up by name.
type indexRangeDir struct {
	fs.Inode
	stream *streamNode
	index  string
}

func (n *indexRangeDir) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	return n.stream.dirAttr(out)
}

func (n *indexRangeDir) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	return fs.NewListDirStream(nil), 0
}

func (n *indexRangeDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	p, err := store.ParseIndexRange(n.index, name, time.Now())
	// Times relative to now move; integers stay.
	moving := n.index == store.TimeIndex && !store.IsIntegerRange(name)
	return lookupView(ctx, n.EmbeddedInode(), name, n.stream, p, err, moving, out)
}

// tagDir is tag/: a file per tag.
type tagDir struct {
	fs.Inode
	stream *streamNode
}

func (n *tagDir) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	return n.stream.dirAttr(out)
}

func (n *tagDir) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	tags, err := n.stream.s.Tags()
	if err != nil {
		return nil, n.stream.m.errno(err, n.stream.where(store.TagDir))
	}
	return dirList(tags, fuse.S_IFREG), 0
}

func (n *tagDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	p, err := store.ParsePath(store.TagDir + "/" + name)
	return lookupView(ctx, n.EmbeddedInode(), name, n.stream, p, err, false, out)
}

// queryDir is query/: tag queries, looked up by name, never listed.
type queryDir struct {
	fs.Inode
	stream *streamNode
}

func (n *queryDir) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	return n.stream.dirAttr(out)
}

func (n *queryDir) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	return fs.NewListDirStream(nil), 0
}

func (n *queryDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	p, err := store.ParsePath(store.QueryDir + "/" + name)
	return lookupView(ctx, n.EmbeddedInode(), name, n.stream, p, err, false, out)
}

func dirList(names []string, mode uint32) fs.DirStream {
	list := make([]fuse.DirEntry, len(names))
	for i, name := range names {
		list[i] = fuse.DirEntry{Name: name, Mode: mode}
	}
	return fs.NewListDirStream(list)
}

// followFile is follow: endless, from the end of the stream at open.
type followFile struct {
	fs.Inode
	noFlush
	stream *streamNode
}

func (n *followFile) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.stream.fileAttr(&out.Attr)
	out.SetTimeout(growingTimeout)
	return 0
}

func (n *followFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	f, err := n.stream.s.Follow()
	if err != nil {
		return nil, 0, n.stream.m.errno(err, n.stream.where(store.FollowFile))
	}
	// Direct I/O: reads reach the follower whatever the size says, and a
	// short read is passed on as it is.
	return &followHandle{f: f, stream: n.stream}, fuse.FOPEN_DIRECT_IO, 0
}

type followHandle struct {
	f      *store.Follower
	stream *streamNode
}

// Read waits for the next records; an interrupt (Ctrl-C) ends the wait.
func (h *followHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	k, err := h.f.Read(ctx, dest)
	if err != nil && !isEOF(err) { // EOF: archived, or deleted
		return nil, h.stream.m.errno(err, h.stream.where(store.FollowFile))
	}
	return fuse.ReadResultData(dest[:k]), 0
}
