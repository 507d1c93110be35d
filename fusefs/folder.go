package fusefs

import (
	"context"
	"path"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/franzfs/franzfs/tree"
)

// folderNode is the root, or a folder that groups streams.
type folderNode struct {
	fs.Inode
	m    *mount
	path string // in the tree; "." for the root
}

func (n *folderNode) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if n.path != "." {
		if k, err := n.m.tree.Kind(n.path); err != nil || k != tree.Folder {
			return syscall.ENOENT
		}
	}
	dir, _, err := n.m.tree.Access(n.path)
	if err != nil {
		return n.m.errno(err, n.path)
	}
	setDir(&out.Attr, dir)
	out.SetTimeout(treeTimeout)
	return 0
}

func (n *folderNode) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	entries, err := n.m.tree.List(n.path)
	if err != nil {
		return nil, n.m.errno(err, n.path)
	}
	list := make([]fuse.DirEntry, len(entries))
	for i, e := range entries {
		list[i] = fuse.DirEntry{Name: e.Name, Mode: fuse.S_IFDIR}
	}
	return fs.NewListDirStream(list), 0
}

func (n *folderNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	p := path.Join(n.path, name)
	k, err := n.m.tree.Kind(p)
	if err != nil {
		return nil, n.m.errno(err, p)
	}
	if k == tree.Missing {
		return nil, syscall.ENOENT
	}
	dir, files, err := n.m.tree.Access(p)
	if err != nil {
		return nil, n.m.errno(err, p)
	}
	setDir(&out.Attr, dir)
	out.SetEntryTimeout(treeTimeout)
	out.SetAttrTimeout(treeTimeout)
	if k == tree.Folder {
		if ch := existing(n.EmbeddedInode(), name, always[*folderNode]); ch != nil {
			return ch, 0
		}
		return n.NewInode(ctx, &folderNode{m: n.m, path: p}, fs.StableAttr{Mode: fuse.S_IFDIR}), 0
	}
	// The same stream as last time keeps its inode, and the kernel its cache.
	origin, err := n.m.tree.Origin(p)
	if err != nil {
		return nil, n.m.errno(err, p)
	}
	if ch := existing(n.EmbeddedInode(), name, func(old *streamNode) bool { return old.origin == origin && old.s.Current() }); ch != nil {
		ch.Operations().(*streamNode).setAccess(dir, files)
		return ch, 0
	}
	s, origin, err := n.m.tree.Open(p)
	if err != nil {
		return nil, n.m.errno(err, p)
	}
	sn := &streamNode{m: n.m, path: p, s: s, origin: origin}
	sn.setAccess(dir, files)
	return n.NewInode(ctx, sn, fs.StableAttr{Mode: fuse.S_IFDIR}), 0
}
