package squash

import (
	"io/fs"
	"time"
)

// Inode types of squashfs 4.0: basic, and extended (basic + 7).
const (
	typeDir     = 1
	typeFile    = 2
	typeSymlink = 3
	typeBlock   = 4
	typeChar    = 5
	typeFifo    = 6
	typeSocket  = 7
	typeExtDir  = 8
	typeExtFile = 9
	extended    = 7
)

// inode is what the reader needs of an inode.
type inode struct {
	ref    uint64 // its reference: block position << 16 | offset
	number uint32 // its inode number
	parent uint32 // directories: the inode number of the directory holding it
	typ    uint16
	mode   fs.FileMode
	mtime  time.Time
	uidIdx uint16 // indices into the id table
	gidIdx uint16
	nlink  uint32

	// directories: where the listing is
	dirBlock  uint32
	dirSize   uint32
	dirOffset uint16

	// files; the block list is read only to open one (fileInode), so a
	// listing of many names costs no memory per block of each
	size       uint64
	blocksAt   uint64   // disk position of the first data block
	blockSizes []uint32 // on-disk sizes, flag blockUncompMsk for stored blocks; 0 is sparse
	fragIndex  uint32
	fragOffset uint32

	// symbolic links
	target string
}

func (in *inode) isDir() bool { return in.typ == typeDir || in.typ == typeExtDir }

func (in *inode) isFile() bool { return in.typ == typeFile || in.typ == typeExtFile }

// modeOf maps squashfs permission bits to Go's.
func modeOf(bits uint16) fs.FileMode {
	mode := fs.FileMode(bits & 0o777)
	if bits&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if bits&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if bits&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// inode reads the inode at reference ref, without a file's block list.
func (img *Image) inode(ref uint64) (*inode, error) { return img.readInode(ref, false) }

// fileInode reads the inode at reference ref, with a file's block list.
func (img *Image) fileInode(ref uint64) (*inode, error) { return img.readInode(ref, true) }

func (img *Image) readInode(ref uint64, blocks bool) (*inode, error) {
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
	in := &inode{ref: ref, typ: le16(hdr), mode: modeOf(le16(hdr[2:])), uidIdx: le16(hdr[4:]), gidIdx: le16(hdr[6:]),
		mtime: time.Unix(int64(le32(hdr[8:])), 0), number: le32(hdr[12:]), nlink: 1}
	switch in.typ {
	case typeDir:
		b, err := m.bytes(16)
		if err != nil {
			return nil, err
		}
		in.dirBlock, in.nlink, in.dirSize, in.dirOffset, in.parent = le32(b), le32(b[4:]), uint32(le16(b[8:])), le16(b[10:]), le32(b[12:])
		in.mode |= fs.ModeDir
	case typeExtDir:
		b, err := m.bytes(24)
		if err != nil {
			return nil, err
		}
		in.nlink, in.dirSize, in.dirBlock, in.dirOffset, in.parent = le32(b), le32(b[4:]), le32(b[8:]), le16(b[18:]), le32(b[12:])
		in.mode |= fs.ModeDir
	case typeFile:
		b, err := m.bytes(16)
		if err != nil {
			return nil, err
		}
		in.blocksAt, in.fragIndex, in.fragOffset, in.size = uint64(le32(b)), le32(b[4:]), le32(b[8:]), uint64(le32(b[12:]))
		return in, img.readBlockList(m, in, blocks)
	case typeExtFile:
		b, err := m.bytes(40)
		if err != nil {
			return nil, err
		}
		in.blocksAt, in.size, in.nlink, in.fragIndex, in.fragOffset = le64(b), le64(b[8:]), le32(b[24:]), le32(b[28:]), le32(b[32:])
		return in, img.readBlockList(m, in, blocks)
	case typeSymlink, typeSymlink + extended:
		b, err := m.bytes(8)
		if err != nil {
			return nil, err
		}
		in.nlink, in.size = le32(b), uint64(le32(b[4:]))
		if in.size > 4096 {
			return nil, img.corrupt("symbolic link inode %#x: a target of %d bytes", ref, in.size)
		}
		target, err := m.bytes(int(in.size))
		if err != nil {
			return nil, err
		}
		in.target = string(target)
		in.mode |= fs.ModeSymlink
	case typeBlock, typeChar, typeFifo, typeSocket,
		typeBlock + extended, typeChar + extended, typeFifo + extended, typeSocket + extended:
		b, err := m.bytes(4)
		if err != nil {
			return nil, err
		}
		in.nlink = le32(b)
		switch (in.typ-1)%extended + 1 {
		case typeBlock:
			in.mode |= fs.ModeDevice
		case typeChar:
			in.mode |= fs.ModeDevice | fs.ModeCharDevice
		case typeFifo:
			in.mode |= fs.ModeNamedPipe
		case typeSocket:
			in.mode |= fs.ModeSocket
		}
	default:
		return nil, img.corrupt("inode %#x of unknown type %d", ref, in.typ)
	}
	return in, nil
}

// readBlockList reads a file inode's block sizes. Their number follows
// from the file size; each takes 4 bytes of the inode table, which bounds
// it before anything is allocated.
func (img *Image) readBlockList(m *metaReader, in *inode, read bool) error {
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
	if !read {
		return nil
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
