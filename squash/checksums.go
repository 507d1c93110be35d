package squash

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"
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

// readChecksums finds the image's checksums, if it has them. They are read
// as blocks are checked, by binary search through the file's cached
// blocks, so an image costs no memory per block (nor does a claim of
// many); the file's own blocks go unchecked.
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
	img.sums = sums
	if n := len(sums.starts); n > 0 {
		img.sumsFrom, img.sumsTo = sums.starts[0], sums.starts[n-1]+uint64(sums.info.in.blockSizes[n-1]&^blockUncompMsk)
	}
	return nil
}

// checkBlock verifies the data block loaded from pos, where the image
// has a checksum of it.
func (img *Image) checkBlock(pos uint64, data []byte) error {
	if img.sums == nil || (pos >= img.sumsFrom && pos < img.sumsTo) {
		return nil
	}
	var e [checksumEntry]byte
	entry := func(k int64) (uint64, uint32, error) {
		if _, err := img.sums.ReadAt(e[:], k*checksumEntry); err != nil {
			return 0, 0, err
		}
		return binary.LittleEndian.Uint64(e[:]), binary.LittleEndian.Uint32(e[8:]), nil
	}
	lo, hi := int64(0), img.sums.info.Size()/checksumEntry
	for lo < hi {
		mid := lo + (hi-lo)/2
		at, sum, err := entry(mid)
		switch {
		case err != nil:
			return err
		case at == pos && sum != blockChecksum(data):
			return img.corrupt("data block at %d does not match its checksum", pos)
		case at == pos:
			return nil
		case at < pos:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return nil
}

// checksumsNode is the file of the checksums recorded so far.
func checksumsNode(sums []byte) *wnode {
	return &wnode{name: ChecksumsFile, size: uint64(len(sums)), read: func(fn func(io.ReaderAt) error) error {
		return fn(bytes.NewReader(sums))
	}}
}
