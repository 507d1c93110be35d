package squash

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zlib"
)

// The image writer. It writes what franzfs needs and the kernel, unsquashfs
// and squashfuse read: directories and regular files, gzip-compressed or
// stored, without fragments (each file's tail is a short block of its own),
// xattrs or an export table. The layout is mksquashfs's: superblock, data
// blocks, inode table, directory table, id table.

const (
	flagUncompressedData  = 0x0002
	flagUncompressedFrags = 0x0008
	flagNoFragments       = 0x0010
	flagNoXattrs          = 0x0200
	flagUncompressedIDs   = 0x0800
	invalidTable          = ^uint64(0)
)

// A wnode is a directory or file of the image being written.
type wnode struct {
	name     string
	children []*wnode // directories, sorted by name
	isDir    bool

	read       func(func(io.ReaderAt) error) error // files: calls its argument with the bytes to store
	size       uint64
	blocksAt   uint64
	blockSizes []uint32

	mtime uint32 // seconds since 1970; a directory's is its newest child's
	ino   uint32
	ref   uint64
}

func (n *wnode) child(name string, isDir bool) *wnode {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	c := &wnode{name: name, isDir: isDir}
	n.children = append(n.children, c)
	return c
}

// add places a file at slash-separated path p under n: size bytes that
// read gives, last changed at mtime.
func (n *wnode) add(p string, read func(func(io.ReaderAt) error) error, size int64, mtime time.Time) error {
	dir, name := path.Split(p)
	for comp := range strings.SplitSeq(strings.Trim(dir, "/"), "/") {
		if comp != "" {
			n = n.child(comp, true)
		}
	}
	if f := n.child(name, false); f.read != nil || f.isDir {
		return fmt.Errorf("%s: named twice", p)
	} else {
		f.read, f.size, f.mtime = read, uint64(size), uint32(min(max(mtime.Unix(), 0), math.MaxUint32))
	}
	return nil
}

type imageWriter struct {
	out       *os.File
	pos       uint64
	blockSize uint32
	compress  bool
	progress  func(n int64)
	now       uint32
	sums      []byte // a checksum entry for every data block written
}

// writeImage writes the tree rooted at root to out, from its start.
func writeImage(out *os.File, root *wnode, blockSize uint32, compress bool, progress func(int64)) error {
	w := &imageWriter{out: out, pos: superblockSize, blockSize: blockSize, compress: compress, progress: progress, now: uint32(time.Now().Unix())}
	if err := w.data(root); err != nil {
		return err
	}
	// The checksums of every block written, in a file of the root written
	// last (its own blocks go unrecorded).
	sums := checksumsNode(w.sums)
	sums.mtime = w.timeOf(root) // as new as what it covers
	root.children = append(root.children, sums)
	slices.SortFunc(root.children, func(a, b *wnode) int { return strings.Compare(a.name, b.name) })
	if err := w.file(sums); err != nil {
		return err
	}
	count := number(root, 1) - 1
	inodes, dirs := w.meta(), w.meta()
	if err := w.tables(root, count+1, inodes, dirs); err != nil {
		return err
	}
	inodeTable := w.pos
	if err := w.write(inodes.finish()); err != nil {
		return err
	}
	dirTable := w.pos
	if err := w.write(dirs.finish()); err != nil {
		return err
	}
	// The id table: one id (0, root), in a metadata block, then its index.
	ids := w.meta()
	ids.write([]byte{0, 0, 0, 0})
	idBlock := w.pos
	if err := w.write(ids.finish()); err != nil {
		return err
	}
	idIndex := w.pos
	if err := w.write(binary.LittleEndian.AppendUint64(nil, idBlock)); err != nil {
		return err
	}
	used := w.pos
	// Pad to 4 KiB, as mksquashfs does; loop devices want whole sectors.
	if pad := (4096 - used%4096) % 4096; pad > 0 {
		if err := w.write(make([]byte, pad)); err != nil {
			return err
		}
	}
	flags := uint16(flagNoFragments | flagNoXattrs)
	if !compress {
		flags |= flagUncompressedInodes | flagUncompressedData | flagUncompressedFrags | flagUncompressedIDs
	}
	log := uint16(0)
	for 1<<log < blockSize {
		log++
	}
	le := binary.LittleEndian
	sb := make([]byte, superblockSize)
	le.PutUint32(sb[0:], magic)
	le.PutUint32(sb[4:], count)
	le.PutUint32(sb[8:], w.now)
	le.PutUint32(sb[12:], blockSize)
	le.PutUint32(sb[16:], 0) // fragments
	le.PutUint16(sb[20:], compGzip)
	le.PutUint16(sb[22:], log)
	le.PutUint16(sb[24:], flags)
	le.PutUint16(sb[26:], 1) // ids
	le.PutUint16(sb[28:], 4)
	le.PutUint16(sb[30:], 0)
	le.PutUint64(sb[32:], root.ref)
	le.PutUint64(sb[40:], used)
	le.PutUint64(sb[48:], idIndex)
	le.PutUint64(sb[56:], invalidTable) // xattrs
	le.PutUint64(sb[64:], inodeTable)
	le.PutUint64(sb[72:], dirTable)
	le.PutUint64(sb[80:], invalidTable) // fragments
	le.PutUint64(sb[88:], invalidTable) // export
	_, err := out.WriteAt(sb, 0)
	return err
}

func (w *imageWriter) write(p []byte) error {
	if _, err := w.out.WriteAt(p, int64(w.pos)); err != nil {
		return err
	}
	w.pos += uint64(len(p))
	return nil
}

// data writes every file's blocks, compressing several at once.
func (w *imageWriter) data(n *wnode) error {
	slices.SortFunc(n.children, func(a, b *wnode) int { return strings.Compare(a.name, b.name) })
	for _, c := range n.children {
		var err error
		if c.isDir {
			err = w.data(c)
		} else {
			err = w.file(c)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *imageWriter) file(f *wnode) error {
	return f.read(func(src io.ReaderAt) error { return w.fileFrom(f, src) })
}

func (w *imageWriter) fileFrom(f *wnode, src io.ReaderAt) error {
	f.blocksAt = w.pos
	bs := uint64(w.blockSize)
	batch := runtime.GOMAXPROCS(0) * 2
	bufs := make([][]byte, batch)
	outs := make([][]byte, batch)
	zbufs := make([]bytes.Buffer, batch)
	for at := uint64(0); at < f.size; {
		k := 0
		for ; k < batch && at < f.size; k++ {
			n := min(bs, f.size-at)
			bufs[k] = slices.Grow(bufs[k][:0], int(n))[:n]
			if _, err := src.ReadAt(bufs[k], int64(at)); err != nil && err != io.EOF {
				return fmt.Errorf("%s: %w", f.name, err)
			}
			at += n
		}
		var wg sync.WaitGroup
		for i := range k {
			wg.Go(func() { outs[i] = w.compressBlock(bufs[i], &zbufs[i]) })
		}
		wg.Wait()
		for i := range k {
			size := uint32(len(outs[i]))
			data := outs[i]
			if data == nil {
				data, size = bufs[i], uint32(len(bufs[i]))|blockUncompMsk
			}
			w.sums = appendChecksum(w.sums, w.pos, bufs[i])
			if err := w.write(data); err != nil {
				return fmt.Errorf("%s: %w", f.name, err)
			}
			f.blockSizes = append(f.blockSizes, size)
			if w.progress != nil {
				w.progress(int64(len(bufs[i])))
			}
		}
	}
	return nil
}

// compressBlock returns the block deflated into out's storage, or nil to
// store it as it is.
func (w *imageWriter) compressBlock(b []byte, out *bytes.Buffer) []byte {
	if !w.compress {
		return nil
	}
	out.Reset()
	deflate(out, b)
	if out.Len() >= len(b) {
		return nil
	}
	return out.Bytes()
}

// zlibWriters are reused: a new one costs several hundred KiB of state.
var zlibWriters = sync.Pool{New: func() any {
	zw, _ := zlib.NewWriterLevel(io.Discard, zlib.DefaultCompression)
	return zw
}}

func deflate(out *bytes.Buffer, b []byte) {
	zw := zlibWriters.Get().(*zlib.Writer)
	zw.Reset(out)
	zw.Write(b)
	zw.Close()
	zlibWriters.Put(zw)
}

// number gives inode numbers children first, so that the root is last
// (as mksquashfs does), and returns the next free one.
func number(n *wnode, next uint32) uint32 {
	for _, c := range n.children {
		if c.isDir {
			next = number(c, next)
		} else {
			c.ino, next = next, next+1
		}
	}
	n.ino = next
	return next + 1
}

// tables writes the inodes and directory listings of n's subtree, children
// first: a listing needs its children's inode references.
func (w *imageWriter) tables(n *wnode, parent uint32, inodes, dirs *metaWriter) error {
	for _, c := range n.children {
		if c.isDir {
			if err := w.tables(c, n.ino, inodes, dirs); err != nil {
				return err
			}
			continue
		}
		c.ref = inodes.ref()
		b := w.inodeHeader(9, 0o644, c.ino, w.timeOf(c))
		b = binary.LittleEndian.AppendUint64(b, c.blocksAt)
		b = binary.LittleEndian.AppendUint64(b, c.size)
		b = binary.LittleEndian.AppendUint64(b, 0) // sparse bytes
		b = binary.LittleEndian.AppendUint32(b, 1) // links
		b = binary.LittleEndian.AppendUint32(b, noFragment)
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint32(b, noFragment) // no xattrs
		for _, s := range c.blockSizes {
			b = binary.LittleEndian.AppendUint32(b, s)
		}
		inodes.write(b)
	}
	listing := dirs.ref()
	size := w.listing(n, dirs)
	subdirs := 0
	for _, c := range n.children {
		if c.isDir {
			subdirs++
		}
	}
	n.ref = inodes.ref()
	le := binary.LittleEndian
	block, offset := uint32(listing>>16), uint16(listing&0xFFFF)
	if size+3 <= 0xFFFF {
		b := w.inodeHeader(typeDir, 0o755, n.ino, w.timeOf(n))
		b = le.AppendUint32(b, block)
		b = le.AppendUint32(b, uint32(2+subdirs))
		b = le.AppendUint16(b, uint16(size+3))
		b = le.AppendUint16(b, offset)
		b = le.AppendUint32(b, parent)
		inodes.write(b)
	} else {
		b := w.inodeHeader(typeExtDir, 0o755, n.ino, w.timeOf(n))
		b = le.AppendUint32(b, uint32(2+subdirs))
		b = le.AppendUint32(b, uint32(size+3))
		b = le.AppendUint32(b, block)
		b = le.AppendUint32(b, parent)
		b = le.AppendUint16(b, 0) // no directory index
		b = le.AppendUint16(b, offset)
		b = le.AppendUint32(b, noFragment) // no xattrs
		inodes.write(b)
	}
	return nil
}

// timeOf returns the time n's inode gets: its own, its newest child's for
// a directory, or the image's making where neither is known.
func (w *imageWriter) timeOf(n *wnode) uint32 {
	for _, c := range n.children {
		n.mtime = max(n.mtime, w.timeOf(c))
	}
	if n.mtime == 0 {
		return w.now
	}
	return n.mtime
}

func (w *imageWriter) inodeHeader(typ uint16, mode uint16, ino, mtime uint32) []byte {
	le := binary.LittleEndian
	b := le.AppendUint16(nil, typ)
	b = le.AppendUint16(b, mode)
	b = le.AppendUint16(b, 0) // uid index
	b = le.AppendUint16(b, 0) // gid index
	b = le.AppendUint32(b, mtime)
	return le.AppendUint32(b, ino)
}

// listing writes n's directory entries and returns their size. Entries
// share a header while their inodes lie in one metadata block, at most
// 256 of them, with inode numbers within reach of the header's.
func (w *imageWriter) listing(n *wnode, dirs *metaWriter) int {
	le := binary.LittleEndian
	size := 0
	for i := 0; i < len(n.children); {
		first := n.children[i]
		j := i + 1
		for j < len(n.children) && j-i < 256 && n.children[j].ref>>16 == first.ref>>16 &&
			int64(n.children[j].ino)-int64(first.ino) <= 32767 && int64(n.children[j].ino)-int64(first.ino) >= -32768 {
			j++
		}
		h := le.AppendUint32(nil, uint32(j-i-1))
		h = le.AppendUint32(h, uint32(first.ref>>16))
		h = le.AppendUint32(h, first.ino)
		dirs.write(h)
		size += len(h)
		for _, c := range n.children[i:j] {
			typ := uint16(typeFile)
			if c.isDir {
				typ = typeDir
			}
			e := le.AppendUint16(nil, uint16(c.ref&0xFFFF))
			e = le.AppendUint16(e, uint16(int16(int64(c.ino)-int64(first.ino))))
			e = le.AppendUint16(e, typ)
			e = le.AppendUint16(e, uint16(len(c.name)-1))
			e = append(e, c.name...)
			dirs.write(e)
			size += len(e)
		}
		i = j
	}
	return size
}

// metaWriter collects a metadata table in blocks of 8 KiB, each compressed
// unless that does not make it smaller.
type metaWriter struct {
	compress bool
	buf      []byte // the block being filled, always under 8 KiB
	out      []byte // the blocks done, with their headers
}

func (w *imageWriter) meta() *metaWriter { return &metaWriter{compress: w.compress} }

// ref is the reference of the next byte: its block's position in the
// table, and the offset in the block.
func (m *metaWriter) ref() uint64 { return uint64(len(m.out))<<16 | uint64(len(m.buf)) }

func (m *metaWriter) write(p []byte) {
	for len(p) > 0 {
		k := min(metaBlockSize-len(m.buf), len(p))
		m.buf = append(m.buf, p[:k]...)
		p = p[k:]
		if len(m.buf) == metaBlockSize {
			m.flush()
		}
	}
}

func (m *metaWriter) flush() {
	if len(m.buf) == 0 {
		return
	}
	var c []byte
	if m.compress {
		var out bytes.Buffer
		deflate(&out, m.buf)
		c = out.Bytes()
	}
	hdr := uint16(len(c))
	if c == nil || len(c) >= len(m.buf) {
		c, hdr = m.buf, uint16(len(m.buf))|0x8000
	}
	m.out = binary.LittleEndian.AppendUint16(m.out, hdr)
	m.out = append(m.out, c...)
	m.buf = m.buf[:0]
}

func (m *metaWriter) finish() []byte {
	m.flush()
	return m.out
}
