package fusefs

import (
	"context"
	"path"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/franzfs/franzfs/store"
	"github.com/franzfs/franzfs/tree"
)

// streamNode is a stream's directory: its own files and its views.
type streamNode struct {
	fs.Inode
	m      *mount
	path   string
	s      *store.Stream
	origin tree.Origin

	mu    sync.Mutex
	dir   tree.Access // GUARDED_BY(mu): of the stream's directory
	files tree.Access // GUARDED_BY(mu): of its files (payloads)
}

func (n *streamNode) setAccess(dir, files tree.Access) {
	n.mu.Lock()
	n.dir, n.files = dir, files
	n.mu.Unlock()
}

func (n *streamNode) access() (dir, files tree.Access) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dir, n.files
}

// streamEntries are the names a stream directory lists, with their modes.
var streamEntries = []fuse.DirEntry{
	{Name: store.PayloadsFile, Mode: fuse.S_IFREG},
	{Name: store.OffsetsFile, Mode: fuse.S_IFREG},
	{Name: store.IndicesFile, Mode: fuse.S_IFREG},
	{Name: store.SeqDir, Mode: fuse.S_IFDIR},
	{Name: store.IndexDir, Mode: fuse.S_IFDIR},
	{Name: store.TagDir, Mode: fuse.S_IFDIR},
	{Name: store.QueryDir, Mode: fuse.S_IFDIR},
	{Name: store.FollowFile, Mode: fuse.S_IFREG},
	{Name: store.StatFile, Mode: fuse.S_IFREG},
}

func (n *streamNode) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if !n.s.Current() {
		return syscall.ENOENT // deleted under us
	}
	dir, files, err := n.m.tree.Access(n.path)
	if err != nil {
		return n.m.errno(err, n.path)
	}
	n.setAccess(dir, files)
	setDir(&out.Attr, dir)
	out.SetTimeout(treeTimeout)
	return 0
}

func (n *streamNode) OnForget() { n.s.Close() }

func (n *streamNode) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	return fs.NewListDirStream(streamEntries), 0
}

func (n *streamNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ch := existing(n.EmbeddedInode(), name, always[fs.InodeEmbedder])
	if ch != nil {
		if errno := getattr(ctx, ch.Operations(), out); errno != 0 {
			return nil, errno
		}
		out.SetEntryTimeout(stableTimeout)
		return ch, 0
	}
	var node fs.InodeEmbedder
	mode := uint32(fuse.S_IFDIR)
	switch name {
	case store.PayloadsFile, store.OffsetsFile, store.IndicesFile:
		node, mode = &rawFile{stream: n, name: name}, fuse.S_IFREG
	case store.SeqDir:
		node = &seqDir{stream: n}
	case store.IndexDir:
		node = &indexDir{stream: n}
	case store.TagDir:
		node = &tagDir{stream: n}
	case store.QueryDir:
		node = &queryDir{stream: n}
	case store.FollowFile:
		node, mode = &followFile{stream: n}, fuse.S_IFREG
	case store.StatFile:
		node, mode = &statFile{stream: n}, fuse.S_IFREG
	default:
		return nil, syscall.ENOENT
	}
	if errno := getattr(ctx, node, out); errno != 0 {
		return nil, errno
	}
	out.SetEntryTimeout(stableTimeout)
	return n.NewInode(ctx, node, fs.StableAttr{Mode: mode}), 0
}

// getattr fills a lookup's answer with node's attributes.
func getattr(ctx context.Context, node fs.InodeEmbedder, out *fuse.EntryOut) syscall.Errno {
	ga, ok := node.(fs.NodeGetattrer)
	if !ok {
		return 0
	}
	var attr fuse.AttrOut
	if errno := ga.Getattr(ctx, nil, &attr); errno != 0 {
		return errno
	}
	out.Attr = attr.Attr
	out.SetAttrTimeout(attr.Timeout())
	return 0
}

// where names a path in the stream for logs.
func (n *streamNode) where(p ...string) string {
	return path.Join(append([]string{n.path}, p...)...)
}

// dirAttr fills the attributes of a directory inside the stream.
func (n *streamNode) dirAttr(out *fuse.AttrOut) syscall.Errno {
	dir, _ := n.access()
	setDir(&out.Attr, dir)
	out.SetTimeout(treeTimeout)
	return 0
}

// fileAttr fills the owner and mode of a file of the stream.
func (n *streamNode) fileAttr(out *fuse.Attr) {
	_, files := n.access()
	setFile(out, files)
}
