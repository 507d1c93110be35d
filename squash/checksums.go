package squash

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"
	"slices"
)

// Checksums. gzip (zlib) and xz blocks carry a checksum of their own;
// stored blocks carry none, nor do the zstd and lz4 blocks mksquashfs
// writes. So franzfs's images hold one more file, ChecksumsFile in their
// root, with the CRC-32C of every data block: (disk position, checksum)
// pairs, in position order. The kernel, unsquashfs and squashfuse see an
// ordinary file; this reader checks each data block it loads against it.

// ChecksumsFile names the file of block checksums in franzfs's images.
const ChecksumsFile = ".franzfs-checksums"

const checksumEntry = 12 // a position (8 bytes) and a CRC-32C (4)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func blockChecksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// appendChecksum records the block written at pos.
func appendChecksum(sums []byte, pos uint64, block []byte) []byte {
	sums = binary.LittleEndian.AppendUint64(sums, pos)
	return binary.LittleEndian.AppendUint32(sums, blockChecksum(block))
}

// readChecksums loads the image's checksums, if it has them. It runs at
// open, before any is set, so the blocks of the file itself go unchecked.
func (img *Image) readChecksums() error {
	f, err := img.Open(ChecksumsFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	// Each block franzfs writes takes over 64 bytes of the image, even one
	// of zeros: that bounds the file before it is read.
	fi, _ := f.Stat()
	if fi.Size()%checksumEntry != 0 || uint64(fi.Size())/checksumEntry > img.sb.bytesUsed/64+1 {
		return img.corrupt("%s of %d bytes", ChecksumsFile, fi.Size())
	}
	data, err := io.ReadAll(f.(io.Reader))
	if err != nil {
		return err
	}
	sums := make([]blockSum, 0, len(data)/checksumEntry)
	for b := data; len(b) >= checksumEntry; b = b[checksumEntry:] {
		sums = append(sums, blockSum{binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint32(b[8:])})
	}
	if !slices.IsSortedFunc(sums, func(a, b blockSum) int { return cmpPos(a.pos, b.pos) }) {
		return img.corrupt("%s out of order", ChecksumsFile)
	}
	img.sums = sums
	return nil
}

type blockSum struct {
	pos uint64
	sum uint32
}

func cmpPos(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// checkBlock verifies the data block loaded from pos, where the image
// has a checksum of it.
func (img *Image) checkBlock(pos uint64, data []byte) error {
	i, found := slices.BinarySearchFunc(img.sums, pos, func(s blockSum, pos uint64) int { return cmpPos(s.pos, pos) })
	if found && img.sums[i].sum != blockChecksum(data) {
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
