package squash

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Errors of reading an image; each message also names the image.
var (
	ErrCorrupt     = errors.New("corrupt squashfs image")
	ErrUnsupported = errors.New("unsupported squashfs image")
)

const (
	magic          = 0x73717368 // "hsqs"
	superblockSize = 96
	metaBlockSize  = 8192
	maxBlockSize   = 1 << 20

	flagUncompressedInodes = 0x0001
	flagCompressorOptions  = 0x0400

	noFragment     = 0xFFFFFFFF
	blockUncompMsk = 1 << 24 // in a data block or fragment size: stored uncompressed
)

type superblock struct {
	inodes        uint32
	blockSize     uint32
	fragments     uint32
	compression   uint16
	blockLog      uint16
	flags         uint16
	major, minor  uint16
	rootInode     uint64
	bytesUsed     uint64
	inodeTable    uint64
	dirTable      uint64
	fragmentTable uint64
	ids           uint16
	idTable       uint64
}

// Image is an open squashfs image. It is safe for concurrent use.
type Image struct {
	name    string
	r       io.ReaderAt
	close   func() error
	sb      superblock
	inflate decompressor

	cache     *blockCache
	blocks    sync.Pool // of *block, free
	fragIndex []byte    // where the fragment table's blocks are, read at open

	// franzfs's block checksums (see checksums.go), and where the file's
	// own blocks lie; set at open.
	sums             *File
	sumsFirsts       []uint64 // the first position in each block of sums
	sumsFrom, sumsTo uint64

	dirsMu sync.Mutex
	dirs   map[uint64][]dirEntry // GUARDED_BY(dirsMu): listings by directory inode reference
}

// watchedFile reads an image file, and fails once the file is not as it
// was when opened: its size or modification time changed. It looks after
// each read: a write changes the modification time before its bytes can
// be read, so bytes read before an unchanged look are the old ones.
type watchedFile struct {
	f      *os.File
	opened os.FileInfo
	name   string
}

func (w *watchedFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := w.f.ReadAt(p, off)
	fi, serr := w.f.Stat()
	if serr != nil {
		return 0, serr
	}
	if fi.Size() != w.opened.Size() || !fi.ModTime().Equal(w.opened.ModTime()) {
		return 0, fmt.Errorf("image %s: %w: the file changed while it was read (overwritten in place); it is read anew when opened again", w.name, ErrCorrupt)
	}
	return n, err
}

type fragment struct {
	start uint64
	size  uint32
}

// Open opens the image file at path. An image is read in place for as
// long as it is open: if its file is overwritten meanwhile (cp onto it,
// where mv would replace it), reads fail, never mixing old and new bytes.
func Open(path string) (*Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	img, err := NewImage(&watchedFile{f: f, opened: fi, name: path}, fi.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	img.close = f.Close
	return img, nil
}

// NewImage reads an image of size bytes from r; name is for errors.
func NewImage(r io.ReaderAt, size int64, name string) (*Image, error) {
	img := &Image{name: name, r: r, dirs: map[uint64][]dirEntry{}, cache: newBlockCache(defaultCacheBytes)}
	if err := img.readSuperblock(size); err != nil {
		return nil, err
	}
	if err := img.readFragmentTable(); err != nil {
		return nil, err
	}
	root, err := img.inode(img.sb.rootInode)
	if err != nil {
		return nil, err
	}
	if !root.isDir() {
		return nil, img.corrupt("root inode %#x is not a directory", img.sb.rootInode)
	}
	if err := img.readChecksums(); err != nil {
		return nil, err
	}
	return img, nil
}

// Close releases the image file.
func (img *Image) Close() error {
	if img.close != nil {
		return img.close()
	}
	return nil
}

// Name is the path the image was opened from.
func (img *Image) Name() string { return img.name }

// Compression names the image's compression.
func (img *Image) Compression() string { return compNames[img.sb.compression] }

// inflateErr says why the block at pos did not inflate: a compression
// option not read, or damage.
func (img *Image) inflateErr(what string, pos uint64, err error) error {
	if errors.Is(err, ErrUnsupported) {
		return fmt.Errorf("image %s: %s at %d: %w", img.name, what, pos, err)
	}
	return img.corrupt("%s at %d: %v", what, pos, err)
}

func (img *Image) corrupt(format string, args ...any) error {
	return fmt.Errorf("image %s: %w: %s", img.name, ErrCorrupt, fmt.Sprintf(format, args...))
}

func (img *Image) readSuperblock(size int64) error {
	var b [superblockSize]byte
	if n, _ := img.r.ReadAt(b[:], 0); n < superblockSize {
		return img.corrupt("%d bytes, too short for a superblock", size)
	}
	le := binary.LittleEndian
	if le.Uint32(b[0:]) != magic {
		return img.corrupt("no squashfs magic")
	}
	sb := superblock{
		inodes: le.Uint32(b[4:]), blockSize: le.Uint32(b[12:]), fragments: le.Uint32(b[16:]),
		compression: le.Uint16(b[20:]), blockLog: le.Uint16(b[22:]), flags: le.Uint16(b[24:]),
		major: le.Uint16(b[28:]), minor: le.Uint16(b[30:]), rootInode: le.Uint64(b[32:]),
		bytesUsed: le.Uint64(b[40:]), inodeTable: le.Uint64(b[64:]), dirTable: le.Uint64(b[72:]),
		fragmentTable: le.Uint64(b[80:]), ids: le.Uint16(b[26:]), idTable: le.Uint64(b[48:]),
	}
	switch {
	case sb.major != 4 || sb.minor != 0:
		return fmt.Errorf("image %s: %w: squashfs version %d.%d, not 4.0", img.name, ErrUnsupported, sb.major, sb.minor)
	case sb.blockSize < 4096 || sb.blockSize > maxBlockSize || sb.blockSize&(sb.blockSize-1) != 0 || 1<<sb.blockLog != sb.blockSize:
		return img.corrupt("block size %d", sb.blockSize)
	case sb.bytesUsed > uint64(size):
		return img.corrupt("truncated: %d bytes of %d", size, sb.bytesUsed)
	case sb.inodeTable >= sb.bytesUsed || sb.dirTable >= sb.bytesUsed || sb.inodeTable > sb.dirTable:
		return img.corrupt("tables out of place")
	}
	var err error
	if img.inflate, err = newDecompressor(sb.compression); err != nil {
		return fmt.Errorf("image %s: %w", img.name, err)
	}
	img.sb = sb
	return nil
}

// readAt reads exactly len(p) bytes at off, within the image.
func (img *Image) readAt(p []byte, off uint64) error {
	if off+uint64(len(p)) > img.sb.bytesUsed || off+uint64(len(p)) < off {
		return img.corrupt("read of %d bytes at %d past the image end %d", len(p), off, img.sb.bytesUsed)
	}
	n, err := img.r.ReadAt(p, int64(off))
	if n == len(p) {
		return nil
	}
	return fmt.Errorf("image %s: read at %d: %w", img.name, off, err)
}

// metaBlock returns the decompressed metadata block at disk position pos,
// and the position of the next block.
func (img *Image) metaBlock(pos uint64) ([]byte, uint64, error) {
	if b, next, ok := img.cache.getMeta(pos); ok {
		return b, next, nil
	}
	var h [2]byte
	if err := img.readAt(h[:], pos); err != nil {
		return nil, 0, err
	}
	hdr := binary.LittleEndian.Uint16(h[:])
	size := uint64(hdr & 0x7FFF)
	if size == 0 || size > metaBlockSize {
		return nil, 0, img.corrupt("metadata block at %d claims %d bytes", pos, size)
	}
	raw := make([]byte, size)
	if err := img.readAt(raw, pos+2); err != nil {
		return nil, 0, err
	}
	data := raw
	if hdr&0x8000 == 0 {
		var err error
		if data, err = img.inflate(make([]byte, 0, metaBlockSize), raw); err != nil {
			return nil, 0, img.inflateErr("metadata block", pos, err)
		}
	}
	next := pos + 2 + size
	img.cache.putMeta(pos, data, next)
	return data, next, nil
}

// metaReader reads a run of metadata that may span blocks.
type metaReader struct {
	img  *Image
	pos  uint64 // the next block's disk position
	buf  []byte // what is left of the current block
	read int    // bytes read so far, to bound runaway listings
}

func (img *Image) metaAt(block uint64, offset uint16) (*metaReader, error) {
	m := &metaReader{img: img, pos: block}
	if err := m.fill(); err != nil {
		return nil, err
	}
	if int(offset) > len(m.buf) {
		return nil, img.corrupt("metadata offset %d past its block at %d", offset, block)
	}
	m.buf = m.buf[offset:]
	return m, nil
}

func (m *metaReader) fill() error {
	b, next, err := m.img.metaBlock(m.pos)
	if err != nil {
		return err
	}
	m.buf, m.pos = b, next
	return nil
}

// bytes returns the next n bytes.
func (m *metaReader) bytes(n int) ([]byte, error) {
	m.read += n
	if n <= len(m.buf) {
		b := m.buf[:n]
		m.buf = m.buf[n:]
		return b, nil
	}
	// Grown as blocks are read, so a damaged length fails before it costs memory.
	out := make([]byte, 0, min(n, 4*metaBlockSize))
	for len(out) < n {
		if len(m.buf) == 0 {
			if m.pos >= m.img.sb.bytesUsed {
				return nil, m.img.corrupt("metadata runs past the image end")
			}
			if err := m.fill(); err != nil {
				return nil, err
			}
		}
		k := min(n-len(out), len(m.buf))
		out = append(out, m.buf[:k]...)
		m.buf = m.buf[k:]
	}
	return out, nil
}

func (m *metaReader) u16() (uint16, error) {
	b, err := m.bytes(2)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b), nil
}

func (m *metaReader) u32() (uint32, error) {
	b, err := m.bytes(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (m *metaReader) u64() (uint64, error) {
	b, err := m.bytes(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (img *Image) readFragmentTable() error {
	// An index of block positions, each block holding 512 entries of 16
	// bytes. Both are read when a file needs an entry, never all at once:
	// a count patched large costs nothing until it is found out.
	if n := uint64(img.sb.fragments); n > 0 && img.sb.fragmentTable+(n+511)/512*8 > img.sb.bytesUsed {
		return img.corrupt("%d fragments, with their index at %d", n, img.sb.fragmentTable)
	}
	return nil
}

// id returns entry i of the id table (uids and gids), read when asked.
func (img *Image) id(i uint16) (uint32, error) {
	if i >= img.sb.ids {
		return 0, img.corrupt("id %d of %d", i, img.sb.ids)
	}
	var at [8]byte
	if err := img.readAt(at[:], img.sb.idTable+uint64(i/2048)*8); err != nil {
		return 0, err
	}
	m, err := img.metaAt(binary.LittleEndian.Uint64(at[:]), 0)
	if err != nil {
		return 0, err
	}
	if _, err := m.bytes(int(i%2048) * 4); err != nil {
		return 0, err
	}
	b, err := m.bytes(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

// fragment returns entry i of the fragment table.
func (img *Image) fragment(i uint32) (fragment, error) {
	if uint64(i) >= uint64(img.sb.fragments) {
		return fragment{}, img.corrupt("fragment %d of %d", i, img.sb.fragments)
	}
	var at [8]byte
	if err := img.readAt(at[:], img.sb.fragmentTable+uint64(i/512)*8); err != nil {
		return fragment{}, err
	}
	m, err := img.metaAt(binary.LittleEndian.Uint64(at[:]), 0)
	if err != nil {
		return fragment{}, err
	}
	if _, err := m.bytes(int(i%512) * 16); err != nil {
		return fragment{}, err
	}
	e, err := m.bytes(16)
	if err != nil {
		return fragment{}, err
	}
	return fragment{binary.LittleEndian.Uint64(e), binary.LittleEndian.Uint32(e[8:])}, nil
}
