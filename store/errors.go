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
	// ErrClosed: the writer was closed.
	ErrClosed = errors.New("writer closed")
)
