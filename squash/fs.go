package squash

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/franzfs/franzfs/store"
)

var (
	_ fs.FS         = (*Image)(nil)
	_ fs.ReadDirFS  = (*Image)(nil)
	_ fs.StatFS     = (*Image)(nil)
	_ fs.ReadLinkFS = (*Image)(nil)
	_ io.ReaderAt   = (*File)(nil)
)

// lookup walks name from the root.
func (img *Image) lookup(op, name string) (*inode, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	in, err := img.inode(img.sb.rootInode)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	if name == "." {
		return in, nil
	}
	for comp := range strings.SplitSeq(name, "/") {
		if !in.isDir() {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		entries, err := img.listing(in)
		if err != nil {
			return nil, &fs.PathError{Op: op, Path: name, Err: err}
		}
		found := false
		for _, e := range entries {
			if e.name == comp {
				child, err := img.inode(e.ref)
				if err != nil {
					return nil, &fs.PathError{Op: op, Path: name, Err: err}
				}
				// Each directory names the one holding it: an entry that
				// leads to another (an ancestor, in a loop) is damage, or
				// a walk of the image would never end.
				if child.isDir() && child.parent != in.number {
					return nil, &fs.PathError{Op: op, Path: name, Err: img.corrupt("directory %s is held by inode %d but listed in inode %d: a directory loop", comp, child.parent, in.number)}
				}
				in, found = child, true
				break
			}
		}
		if !found {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
	}
	return in, nil
}

// Open opens a file or directory of the image.
func (img *Image) Open(name string) (fs.File, error) {
	in, err := img.lookup("open", name)
	if err != nil {
		return nil, err
	}
	info := fileInfo{name: path.Base(name), in: in, img: img}
	if in.isDir() {
		return &dir{img: img, info: info}, nil
	}
	if !in.isFile() {
		// Links are not followed, nor devices opened: an image is data.
		return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w: a %s, not a regular file", ErrUnsupported, store.FileType(in.mode))}
	}
	if in, err = img.fileInode(in.ref); err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	info.in = in
	return img.newFile(info)
}

// ReadLink returns the target of a symbolic link of the image.
func (img *Image) ReadLink(name string) (string, error) {
	in, err := img.lookup("readlink", name)
	if err != nil {
		return "", err
	}
	if in.mode&fs.ModeSymlink == 0 {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return in.target, nil
}

// Lstat is Stat: no link of an image is followed.
func (img *Image) Lstat(name string) (fs.FileInfo, error) { return img.Stat(name) }

// Stat describes a file or directory of the image.
func (img *Image) Stat(name string) (fs.FileInfo, error) {
	in, err := img.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return fileInfo{name: path.Base(name), in: in, img: img}, nil
}

// ReadDir lists a directory of the image, sorted by name (as stored).
func (img *Image) ReadDir(name string) ([]fs.DirEntry, error) {
	in, err := img.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if !in.isDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	entries, err := img.listing(in)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	out := make([]fs.DirEntry, 0, len(entries))
	for _, e := range entries {
		// A name an fs.FS path cannot spell cannot be opened either.
		if !fs.ValidPath(e.name) || strings.Contains(e.name, "/") || e.name == "." {
			continue
		}
		child, err := img.inode(e.ref)
		if err != nil {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
		}
		out = append(out, fs.FileInfoToDirEntry(fileInfo{name: e.name, in: child, img: img}))
	}
	return out, nil
}

type fileInfo struct {
	name string
	in   *inode
	img  *Image
}

// Owner is what FileInfo.Sys gives for a file of an image.
type Owner struct {
	Uid, Gid uint32
	Nlink    uint32
}

func (fi fileInfo) Name() string       { return fi.name }
func (fi fileInfo) Size() int64        { return int64(fi.in.size) }
func (fi fileInfo) Mode() fs.FileMode  { return fi.in.mode }
func (fi fileInfo) ModTime() time.Time { return fi.in.mtime }
func (fi fileInfo) IsDir() bool        { return fi.in.isDir() }

// Sys returns an *Owner: the uid, gid and link count the image stores.
func (fi fileInfo) Sys() any {
	uid, _ := fi.img.id(fi.in.uidIdx)
	gid, _ := fi.img.id(fi.in.gidIdx)
	return &Owner{Uid: uid, Gid: gid, Nlink: fi.in.nlink}
}

type dir struct {
	img  *Image
	info fileInfo
	list []fs.DirEntry
	read bool
}

func (d *dir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dir) Close() error               { return nil }
func (d *dir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errors.New("is a directory")}
}

func (d *dir) ReadDir(n int) ([]fs.DirEntry, error) {
	if !d.read {
		entries, err := d.img.listing(d.info.in)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			child, err := d.img.inode(e.ref)
			if err != nil {
				return nil, err
			}
			d.list = append(d.list, fs.FileInfoToDirEntry(fileInfo{name: e.name, in: child}))
		}
		d.read = true
	}
	if n <= 0 {
		out := d.list
		d.list = nil
		return out, nil
	}
	if len(d.list) == 0 {
		return nil, io.EOF
	}
	k := min(n, len(d.list))
	out := d.list[:k]
	d.list = d.list[k:]
	return out, nil
}

// File is a regular file of an image. ReadAt is safe for concurrent use;
// Read, like os.File's, keeps one offset.
type File struct {
	img    *Image
	info   fileInfo
	starts []uint64 // disk position of each data block
	offset int64
	last   atomic.Int64 // the last block read, to detect reading in order
	// noReadAhead: read at random (the checksums), never ahead.
	noReadAhead bool
}

func (img *Image) newFile(info fileInfo) (*File, error) {
	in := info.in
	f := &File{img: img, info: info, starts: make([]uint64, len(in.blockSizes))}
	pos := in.blocksAt
	for i, sz := range in.blockSizes {
		f.starts[i] = pos
		pos += uint64(sz &^ blockUncompMsk)
	}
	if pos > img.sb.bytesUsed {
		return nil, img.corrupt("file %s: data blocks run to %d, past the image end", info.name, pos)
	}
	f.last.Store(-2)
	return f, nil
}

func (f *File) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *File) Close() error               { return nil }

func (f *File) Read(p []byte) (int, error) {
	n, err := f.ReadAt(p, f.offset)
	f.offset += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// ReadAt reads len(p) bytes at off, decompressing only the blocks they lie in.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	size := int64(f.info.in.size)
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= size {
		return 0, io.EOF
	}
	want := len(p)
	p = p[:min(int64(len(p)), size-off)]
	bs := int64(f.img.sb.blockSize)
	n := 0
	sizes := f.info.in.blockSizes
	for n < len(p) {
		at := off + int64(n)
		i := at / bs
		if i < int64(len(sizes)) && sizes[i]&^blockUncompMsk == 0 {
			// A hole: as many zeros as asked of it, no block made.
			k := min(int64(len(p)-n), (i+1)*bs-at)
			clear(p[n : n+int(k)])
			n += int(k)
			continue
		}
		b, data, err := f.block(int(i))
		if err != nil {
			return n, err
		}
		within := at - i*bs
		if within >= int64(len(data)) {
			b.release()
			return n, f.img.corrupt("file %s: block %d holds %d bytes, not %d", f.info.name, i, len(data), within+1)
		}
		n += copy(p[n:], data[within:])
		b.release()
	}
	if n < want {
		return n, io.EOF
	}
	return n, nil
}

// block returns block i of the file, the last one possibly a fragment: its
// bytes, and the block they lie in, to be released once they are copied.
func (f *File) block(i int) (*block, []byte, error) {
	in := f.info.in
	bs := uint64(f.img.sb.blockSize)
	if i < len(in.blockSizes) {
		// The full length of block i, shorter for the last.
		length := min(bs, in.size-uint64(i)*bs)
		if prev := f.last.Swap(int64(i)); prev == int64(i-1) && !f.noReadAhead {
			f.readAhead(i + 1)
		}
		b, err := f.img.dataBlock(f.starts[i], in.blockSizes[i], int(length))
		if err != nil {
			return nil, nil, err
		}
		return b, b.data, nil
	}
	if in.fragIndex == noFragment {
		return nil, nil, f.img.corrupt("file %s: no block %d", f.info.name, i)
	}
	frag, err := f.img.fragment(in.fragIndex)
	if err != nil {
		return nil, nil, err
	}
	b, err := f.img.dataBlock(frag.start, frag.size, int(bs))
	if err != nil {
		return nil, nil, err
	}
	tail := in.size % bs
	if uint64(in.fragOffset)+tail > uint64(len(b.data)) {
		b.release()
		return nil, nil, f.img.corrupt("file %s: fragment %d too short", f.info.name, in.fragIndex)
	}
	return b, b.data[in.fragOffset : uint64(in.fragOffset)+tail], nil
}

// readAheadBlocks is how far ahead of a reader in order blocks are
// decompressed, on other cores.
const readAheadBlocks = 4

var readAheadSlots = make(chan struct{}, runtime.GOMAXPROCS(0))

func (f *File) readAhead(from int) {
	in := f.info.in
	for i := from; i < min(from+readAheadBlocks, len(in.blockSizes)); i++ {
		pos, sz := f.starts[i], in.blockSizes[i]
		if sz&blockUncompMsk != 0 || sz == 0 || f.img.cache.has(pos) {
			continue
		}
		select {
		case readAheadSlots <- struct{}{}:
		default:
			return // every core busy: the reader will decompress it itself
		}
		length := int(min(uint64(f.img.sb.blockSize), in.size-uint64(i)*uint64(f.img.sb.blockSize)))
		go func() {
			defer func() { <-readAheadSlots }()
			if b, err := f.img.dataBlock(pos, sz, length); err == nil {
				b.release()
			}
		}()
	}
}

// dataBlock returns the data block or fragment block at pos, whose size
// field is sz, decompressed to length bytes (at most, for fragments), with
// a reference the caller must release.
func (img *Image) dataBlock(pos uint64, sz uint32, length int) (*block, error) {
	disk := sz &^ blockUncompMsk
	if disk == 0 { // sparse; its pos is the next block's, so never cached
		b := img.newBlock()
		b.data = b.buf[:length]
		clear(b.data)
		b.refs.Store(1)
		return b, nil
	}
	// Stored or compressed, a block never takes more than the block size
	// (mksquashfs stores a block that would not shrink): so a claim is
	// refused before a byte is allocated for it.
	if disk > img.sb.blockSize {
		return nil, img.corrupt("block at %d claims %d bytes, more than the block size %d", pos, disk, img.sb.blockSize)
	}
	b, err := img.cache.data(pos, func() (*block, error) {
		b := img.newBlock()
		if err := img.loadBlock(b, pos, sz); err != nil {
			b.recycle()
			return nil, err
		}
		return b, nil
	})
	if errors.Is(err, errMetadata) {
		return nil, img.corrupt("data block at %d is a metadata block too", pos)
	}
	return b, err
}

// loadBlock reads the block at pos, whose size field is sz, into b.
func (img *Image) loadBlock(b *block, pos uint64, sz uint32) error {
	disk := int(sz &^ blockUncompMsk) // at most the block size, see dataBlock
	if sz&blockUncompMsk != 0 {
		b.data = b.buf[:disk]
		if err := img.readAt(b.data, pos); err != nil {
			return err
		}
		return img.checkBlock(pos, b.data)
	}
	scratch := img.newBlock()
	defer scratch.recycle()
	raw := scratch.buf[:disk]
	if err := img.readAt(raw, pos); err != nil {
		return err
	}
	out, err := img.inflate(b.buf[:0], raw)
	if err != nil {
		return img.inflateErr("data block", pos, err)
	}
	b.data = out
	return img.checkBlock(pos, out)
}

func (f *File) String() string { return fmt.Sprintf("%s:%s", f.img.name, f.info.name) }
