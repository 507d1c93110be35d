package store

import "errors"

// Sentinel errors; adapters map each to one errno or HTTP status, in one place.
var (
	// ErrNotFound: no such stream, record, index or tag. ENOENT, 404.
	ErrNotFound = errors.New("not found")
	// ErrBadName: a stream, tag or index name, or a view path, that the grammar refuses. ENOENT, 400.
	ErrBadName = errors.New("bad name")
	// ErrBadRecord: a record the writer refuses (decreasing index value, wrong
	// number of values, bad tag). Nothing of it is written. 400.
	ErrBadRecord = errors.New("bad record")
	// ErrCorrupt: the stream's files contradict the format. EIO, 500.
	ErrCorrupt = errors.New("corrupt stream")
	// ErrLocked: another writer holds the stream. 409.
	ErrLocked = errors.New("stream is locked by another writer")
	// ErrUnsafe: a path that leads out of the live root, or a stream file
	// that is a symbolic link, not a regular file, or (to a writer) a file
	// with other hard links. Nothing is read from or written to it. EIO, 403.
	ErrUnsafe = errors.New("unsafe, refused")
	// ErrDeleted: the stream was deleted while open; a writer acknowledges
	// nothing into it, a follower ends. 409.
	ErrDeleted = errors.New("stream was deleted")
	// ErrClosed: the writer was closed.
	ErrClosed = errors.New("writer closed")
)
