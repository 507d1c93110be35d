// Package squash writes squashfs 4.0 archives of streams and reads them
// back in process, as an fs.FS whose files support ReadAt, so that store
// reads an archived stream exactly as it reads a live one.
//
// Both sides are this package's own. go-diskfs, tried first, wrote images
// that neither the kernel nor unsquashfs could read once a file passed
// about 2,000 blocks (its inode table held metadata blocks over 8 KiB), and
// its reader has no ReadAt and is not safe for concurrent use. The reader
// here is safe for concurrent use, decompresses only the blocks a read
// needs, keeps a bounded cache of them, and reads ahead on other cores when
// a file is read in order; the writer compresses blocks on every core. It reads images compressed with gzip, xz,
// zstd and lz4, or not at all; it refuses lzo and lzma by name. It knows
// nothing of FUSE or HTTP.
package squash
