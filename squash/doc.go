// Package squash writes squashfs 4.0 archives of streams and reads them
// back in process, as an fs.FS whose files support ReadAt, so that store
// reads an archived stream exactly as it reads a live one.
//
// Images are written with go-diskfs. They are read by this package's own
// reader: safe for concurrent use, decompressing only the blocks a read
// needs, keeping a bounded cache of them, and reading ahead on other cores
// when a file is read in order. It reads images compressed with gzip, xz,
// zstd and lz4, or not at all; it refuses lzo and lzma by name. It knows
// nothing of FUSE or HTTP.
package squash
