package squash

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"
	"sort"
)

// Checksums. gzip (zlib) and xz blocks carry a checksum of their own;
// stored blocks carry none, nor do the zstd and lz4 blocks mksquashfs
// writes. So franzfs's images hold one more file, ChecksumsFile in their
// root, with the CRC-32C of every data block: entries of a disk position
// (8 bytes), a checksum (4) and 4 zero bytes, in position order; 16 bytes
// an entry, so that a block of the file holds whole entries. The kernel, unsquashfs and squashfuse see an
// ordinary file; this reader checks each data block it loads against it.

// ChecksumsFile names the file of block checksums in franzfs's images.
const ChecksumsFile = ".franzfs-checksums"

const checksumEntry = 16

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func blockChecksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// appendChecksum records the block written at pos.
func appendChecksum(sums []byte, pos uint64, block []byte) []byte {
	sums = binary.LittleEndian.AppendUint64(sums, pos)
	sums = binary.LittleEndian.AppendUint32(sums, blockChecksum(block))
	return binary.LittleEndian.AppendUint32(sums, 0)
}

// readChecksums finds the image's checksums, if it has them, and notes
// the first position each block of their file holds: a check then reads
// one block of them, which the block cache keeps, and an image costs 8
// bytes of memory per 8,192 of its blocks. The file's own blocks go
// unchecked.
func (img *Image) readChecksums() error {
	f, err := img.Open(ChecksumsFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	sums, ok := f.(*File)
	if !ok || sums.info.Size()%checksumEntry != 0 {
		return img.corrupt("%s is not a file of checksums", ChecksumsFile)
	}
	sums.noReadAhead = true
	n := len(sums.starts)
	if n == 0 {
		return nil
	}
	firsts := make([]uint64, n)
	for i := range n {
		b, data, err := sums.block(i)
		if err != nil {
			return err
		}
		if len(data) < checksumEntry || len(data)%checksumEntry != 0 {
			b.release()
			return img.corrupt("%s: block %d of %d bytes", ChecksumsFile, i, len(data))
		}
		firsts[i] = binary.LittleEndian.Uint64(data)
		b.release()
	}
	img.sums, img.sumsFirsts = sums, firsts
	img.sumsFrom, img.sumsTo = sums.starts[0], sums.starts[n-1]+uint64(sums.info.in.blockSizes[n-1]&^blockUncompMsk)
	return nil
}

// checkBlock verifies the data block loaded from pos, where the image
// has a checksum of it.
func (img *Image) checkBlock(pos uint64, data []byte) error {
	if img.sums == nil || (pos >= img.sumsFrom && pos < img.sumsTo) {
		return nil
	}
	j := sort.Search(len(img.sumsFirsts), func(j int) bool { return img.sumsFirsts[j] > pos }) - 1
	if j < 0 {
		return nil
	}
	b, entries, err := img.sums.block(j)
	if err != nil {
		return err
	}
	defer b.release()
	n := len(entries) / checksumEntry
	k := sort.Search(n, func(k int) bool { return binary.LittleEndian.Uint64(entries[k*checksumEntry:]) >= pos })
	if k < n && binary.LittleEndian.Uint64(entries[k*checksumEntry:]) == pos &&
		binary.LittleEndian.Uint32(entries[k*checksumEntry+8:]) != blockChecksum(data) {
		return img.corrupt("data block at %d does not match its checksum", pos)
	}
	return nil
}

// checksumsNode is the file of the checksums recorded so far.
func checksumsNode(sums []byte) *wnode {
	return &wnode{name: ChecksumsFile, size: uint64(len(sums)), read: func(fn func(io.ReaderAt) error) error {
		return fn(bytes.NewReader(sums))
	}}
}
