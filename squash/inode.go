package squash

import (
	"io/fs"
	"time"
)

// Inode types of squashfs 4.0.
const (
	typeDir     = 1
	typeFile    = 2
	typeExtDir  = 8
	typeExtFile = 9
)

// inode is what the reader needs of a directory or regular file inode.
type inode struct {
	ref    uint64 // its reference: block position << 16 | offset
	number uint32 // its inode number
	parent uint32 // directories: the inode number of the directory holding it
	typ    uint16
	mode   fs.FileMode
	mtime  time.Time

	// directories: where the listing is
	dirBlock  uint32
	dirOffset uint16
	dirSize   uint32

	// files
	size       uint64
	blocksAt   uint64   // disk position of the first data block
	blockSizes []uint32 // on-disk sizes, flag blockUncompMsk for stored blocks; 0 is sparse
	fragIndex  uint32
	fragOffset uint32
}

func (in *inode) isDir() bool { return in.typ == typeDir || in.typ == typeExtDir }

// inode reads the inode at reference ref.
func (img *Image) inode(ref uint64) (*inode, error) {
	block, offset := ref>>16, uint16(ref&0xFFFF)
	if block > img.sb.dirTable-img.sb.inodeTable {
		return nil, img.corrupt("inode reference %#x past the inode table", ref)
	}
	m, err := img.metaAt(img.sb.inodeTable+block, offset)
	if err != nil {
		return nil, err
	}
	hdr, err := m.bytes(16)
	if err != nil {
		return nil, err
	}
	in := &inode{ref: ref, typ: le16(hdr), mode: fs.FileMode(le16(hdr[2:]) & 0o777), mtime: time.Unix(int64(le32(hdr[8:])), 0), number: le32(hdr[12:])}
	switch in.typ {
	case typeDir:
		b, err := m.bytes(16)
		if err != nil {
			return nil, err
		}
		in.dirBlock, in.dirSize, in.dirOffset, in.parent = le32(b), uint32(le16(b[8:])), le16(b[10:]), le32(b[12:])
		in.mode |= fs.ModeDir
	case typeExtDir:
		b, err := m.bytes(24)
		if err != nil {
			return nil, err
		}
		in.dirSize, in.dirBlock, in.dirOffset, in.parent = le32(b[4:]), le32(b[8:]), le16(b[18:]), le32(b[12:])
		in.mode |= fs.ModeDir
	case typeFile:
		b, err := m.bytes(16)
		if err != nil {
			return nil, err
		}
		in.blocksAt, in.fragIndex, in.fragOffset, in.size = uint64(le32(b)), le32(b[4:]), le32(b[8:]), uint64(le32(b[12:]))
		err = img.readBlockList(m, in)
		return in, err
	case typeExtFile:
		b, err := m.bytes(40)
		if err != nil {
			return nil, err
		}
		in.blocksAt, in.size, in.fragIndex, in.fragOffset = le64(b), le64(b[8:]), le32(b[28:]), le32(b[32:])
		err = img.readBlockList(m, in)
		return in, err
	default:
		// Symlinks, devices and the like: shown as empty irregular files.
		in.mode |= fs.ModeIrregular
	}
	return in, nil
}

// readBlockList reads a file inode's block sizes. Their number follows
// from the file size; each takes 4 bytes of the inode table, which bounds
// it before anything is allocated.
func (img *Image) readBlockList(m *metaReader, in *inode) error {
	bs := uint64(img.sb.blockSize)
	n := in.size / bs
	if in.fragIndex == noFragment && in.size%bs != 0 {
		n++
	}
	// Each metadata block holds at most 8 KiB and takes at least 3 bytes.
	maxList := (img.sb.dirTable-img.sb.inodeTable)/3*metaBlockSize + metaBlockSize
	if n*4 > maxList || (in.fragIndex != noFragment && in.fragIndex >= img.sb.fragments) {
		return img.corrupt("file inode %#x: size %d does not fit its tables", in.ref, in.size)
	}
	raw, err := m.bytes(int(n * 4))
	if err != nil {
		return err
	}
	in.blockSizes = make([]uint32, n)
	for i := range in.blockSizes {
		in.blockSizes[i] = le32(raw[i*4:])
		if in.blockSizes[i]&^blockUncompMsk > uint32(bs) {
			return img.corrupt("file inode %#x: block %d claims %d bytes", in.ref, i, in.blockSizes[i]&^blockUncompMsk)
		}
	}
	return nil
}

// dirEntry is one name of a directory listing.
type dirEntry struct {
	name string
	ref  uint64
	typ  uint16
}

// maxDirListing bounds the listing of one directory (squashfs allows
// about 512 MiB; a stream archive has a handful of names per directory).
const maxDirListing = 64 << 20

// listing returns the entries of directory inode in, cached.
func (img *Image) listing(in *inode) ([]dirEntry, error) {
	img.dirsMu.Lock()
	entries, ok := img.dirs[in.ref]
	img.dirsMu.Unlock()
	if ok {
		return entries, nil
	}
	if in.dirSize < 3 || in.dirSize > maxDirListing || uint64(in.dirBlock) > img.sb.bytesUsed {
		return nil, img.corrupt("directory inode %#x: listing of %d bytes at %d", in.ref, in.dirSize, in.dirBlock)
	}
	m, err := img.metaAt(img.sb.dirTable+uint64(in.dirBlock), in.dirOffset)
	if err != nil {
		return nil, err
	}
	left := int(in.dirSize) - 3 // the size counts 3 bytes that are not there
	for left > 0 {
		hdr, err := m.bytes(12)
		if err != nil {
			return nil, err
		}
		left -= 12
		count, start := le32(hdr)+1, le32(hdr[4:])
		if count > 256 || left < 0 {
			return nil, img.corrupt("directory inode %#x: header of %d entries", in.ref, count)
		}
		for range count {
			e, err := m.bytes(8)
			if err != nil {
				return nil, err
			}
			name, err := m.bytes(int(le16(e[6:])) + 1)
			if err != nil {
				return nil, err
			}
			left -= 8 + len(name)
			entries = append(entries, dirEntry{name: string(name), ref: uint64(start)<<16 | uint64(le16(e)), typ: le16(e[4:])})
		}
	}
	img.dirsMu.Lock()
	img.dirs[in.ref] = entries
	img.dirsMu.Unlock()
	return entries, nil
}

func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }
func le32(b []byte) uint32 { return uint32(le16(b)) | uint32(le16(b[2:]))<<16 }
func le64(b []byte) uint64 { return uint64(le32(b)) | uint64(le32(b[4:]))<<32 }
