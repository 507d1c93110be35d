package fusefs

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/franzfs/franzfs/store"
	"github.com/franzfs/franzfs/tree"
)

// rawFile is one of the stream's own files, byte for byte. For a live
// stream it is served by FUSE passthrough where the kernel allows it (the
// kernel reads the backing file itself), else by reads of that file.
type rawFile struct {
	fs.Inode
	noFlush
	stream *streamNode
	name   string
}

func (n *rawFile) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if fga, ok := f.(fs.FileGetattrer); ok {
		return fga.Getattr(ctx, out)
	}
	file, err := n.stream.s.File(n.name)
	if err != nil {
		return n.stream.m.errno(err, n.stream.where(n.name))
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return n.stream.m.errno(err, n.stream.where(n.name))
	}
	access := tree.AccessOf(fi)
	if !n.stream.s.Live() {
		// In an image: who may read it is the image's business; the time
		// is the file's own.
		_, access = n.stream.access()
		access.ModTime = fi.ModTime()
	}
	setFile(&out.Attr, access)
	out.Size = uint64(fi.Size())
	if n.stream.s.Live() {
		out.SetTimeout(growingTimeout)
	} else {
		out.SetTimeout(stableTimeout)
	}
	return 0
}

func (n *rawFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	file, err := n.stream.s.File(n.name)
	if err != nil {
		return nil, 0, n.stream.m.errno(err, n.stream.where(n.name))
	}
	if osf, ok := file.(*os.File); ok && n.stream.s.Live() {
		// A loopback file of the descriptor the stream opened, confined.
		fd, err := syscall.Dup(int(osf.Fd()))
		osf.Close()
		if err != nil {
			return nil, 0, n.stream.m.errno(err, n.stream.where(n.name))
		}
		syscall.CloseOnExec(fd)
		h := &liveRawHandle{fs.NewLoopbackFile(fd)}
		if n.stream.m.passthrough(fd) {
			return passthroughHandle{h}, 0, 0
		}
		// Direct I/O: the file grows while it is read (see viewFile.tell).
		return h, fuse.FOPEN_DIRECT_IO, 0
	}
	return &readerHandle{r: file, close: file.Close, errno: func(err error) syscall.Errno {
		return n.stream.m.errno(err, n.stream.where(n.name))
	}}, fuse.FOPEN_KEEP_CACHE, 0
}

// liveRawHandle is a loopback file, shown read-only.
type liveRawHandle struct{ fs.FileHandle }

func (h *liveRawHandle) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	errno := h.FileHandle.(fs.FileGetattrer).Getattr(ctx, out)
	out.Mode = fuse.S_IFREG | out.Mode&0o444
	out.SetTimeout(growingTimeout)
	return errno
}

// passthroughHandle asks go-fuse to have the kernel read the file itself.
type passthroughHandle struct{ *liveRawHandle }

func (h passthroughHandle) PassthroughFd() (int, bool) {
	return h.FileHandle.(fs.FilePassthroughFder).PassthroughFd()
}

func (h *liveRawHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	return h.FileHandle.(fs.FileReader).Read(ctx, dest, off)
}

func (h *liveRawHandle) Release(ctx context.Context) syscall.Errno {
	return h.FileHandle.(fs.FileReleaser).Release(ctx)
}

// readerHandle reads an open file of a stream.
type readerHandle struct {
	r interface {
		ReadAt(p []byte, off int64) (int, error)
	}
	close func() error
	errno func(error) syscall.Errno // logs what failed
}

func (h *readerHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := h.r.ReadAt(dest, off)
	if err != nil && !isEOF(err) {
		// Not the bytes read so far: a short read is the end of the file
		// to the kernel, and the file would look cut short.
		return nil, h.errno(err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

func (h *readerHandle) Release(ctx context.Context) syscall.Errno {
	if h.close != nil {
		h.close()
	}
	return 0
}

// statFile is stat.json: the stream's figures, as of the open.
type statFile struct {
	fs.Inode
	noFlush
	stream *streamNode
}

func (n *statFile) content() ([]byte, syscall.Errno) {
	st, err := n.stream.s.Stat()
	if err != nil {
		return nil, n.stream.m.errno(err, n.stream.where(store.StatFile))
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, syscall.EIO
	}
	return append(data, '\n'), 0
}

func (n *statFile) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.stream.fileAttr(&out.Attr)
	if h, ok := f.(*bytesHandle); ok {
		out.Size = uint64(len(h.data))
	} else {
		data, errno := n.content()
		if errno != 0 {
			return errno
		}
		out.Size = uint64(len(data))
	}
	out.SetTimeout(growingTimeout)
	return 0
}

func (n *statFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	data, errno := n.content()
	if errno != 0 {
		return nil, 0, errno
	}
	// Each open has its own figures: no page cache shared between them.
	return &bytesHandle{data}, fuse.FOPEN_DIRECT_IO, 0
}

type bytesHandle struct{ data []byte }

func (h *bytesHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if off >= int64(len(h.data)) {
		return fuse.ReadResultData(nil), 0
	}
	return fuse.ReadResultData(h.data[off:min(int64(len(h.data)), off+int64(len(dest)))]), 0
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }

// noFlush answers the first FLUSH with ENOSYS, after which the kernel sends
// none: a read-only mount has nothing to flush, and it saves a round trip
// on every close.
type noFlush struct{}

func (noFlush) Flush(ctx context.Context, f fs.FileHandle) syscall.Errno { return syscall.ENOSYS }
