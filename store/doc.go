// Package store is the core of franzfs: the franz on-disk format, the Writer
// that appends to a stream, the Stream that reads one, and the views of a
// stream (record ranges, index ranges, tags, tag queries, follow) together
// with the path grammar that names them.
//
// A stream directory holds three files (SPEC section 1):
//
//	payloads  the records' bytes, concatenated
//	offsets   per record 1+N little-endian int64 words: the END offset of the
//	          record in payloads, then its values of the N indices
//	indices   the index names, one per line
//
// and, where records carry tags, tags/T: the ascending record numbers tagged T
// as little-endian uint64 words.
//
// A Writer appends one record (Append), a slice of them (AppendBatch), or a
// Batch filled without its lock (Commit), the fastest way for many small
// records.
//
// store knows nothing of FUSE, HTTP or squashfs. A Stream reads through an
// fs.FS whose files support io.ReaderAt, so a live directory and an archive
// image are the same to it; the views work against the Stream alone.
package store
