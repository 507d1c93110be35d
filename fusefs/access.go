package fusefs

import (
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/franzfs/franzfs/tree"
)

// Who may read what: every node shows the owner, group and read bits of
// its original (tree.Access), and the kernel enforces them
// (default_permissions). The mount is read-only, so no write bit shows.

// setDir fills out as a directory readable, and searchable, by whoever
// may read the original.
func setDir(out *fuse.Attr, a tree.Access) {
	r := uint32(a.Perm) & 0o444
	out.Mode = fuse.S_IFDIR | r | r>>2
	out.Nlink = 1 // "not counted", as tools that count subdirectories by links know
	setOwnerAndTime(out, a)
}

// setFile fills out as a file readable by whoever may read the original.
func setFile(out *fuse.Attr, a tree.Access) {
	out.Mode = fuse.S_IFREG | uint32(a.Perm)&0o444
	out.Nlink = 1
	setOwnerAndTime(out, a)
}

// setOwnerAndTime gives out the original's owner and group, and its time
// of last change as all three of its times.
func setOwnerAndTime(out *fuse.Attr, a tree.Access) {
	out.Uid, out.Gid = a.Uid, a.Gid
	if !a.ModTime.IsZero() {
		t := a.ModTime
		out.SetTimes(&t, &t, &t)
	}
}

// existing returns parent's child name if the kernel still knows it as a
// T and keep says it still means the same: a name keeps its inode number
// (tail -F takes a new number for a new file), and the kernel its pages.
func existing[T fs.InodeEmbedder](parent *fs.Inode, name string, keep func(T) bool) *fs.Inode {
	ch := parent.GetChild(name)
	if ch == nil {
		return nil
	}
	if node, ok := ch.Operations().(T); ok && keep(node) {
		return ch
	}
	return nil
}

func always[T any](T) bool { return true }
