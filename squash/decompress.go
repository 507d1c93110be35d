package squash

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
)

// Compression ids of the squashfs superblock.
const (
	compGzip = 1
	compLzma = 2
	compLzo  = 3
	compXz   = 4
	compLz4  = 5
	compZstd = 6
)

var compNames = map[uint16]string{compGzip: "gzip", compLzma: "lzma", compLzo: "lzo", compXz: "xz", compLz4: "lz4", compZstd: "zstd"}

// A decompressor inflates one block into dst, which has the capacity the
// block may need; it returns the bytes it wrote.
type decompressor func(dst, src []byte) ([]byte, error)

func newDecompressor(id uint16) (decompressor, error) {
	switch id {
	case compGzip:
		return inflateZlib, nil
	case compXz:
		return inflateXz, nil
	case compZstd:
		return inflateZstd, nil
	case compLz4:
		return inflateLz4, nil
	case compLzo, compLzma:
		return nil, fmt.Errorf("%w: %s compression is not supported (use gzip, xz, zstd or lz4)", ErrUnsupported, compNames[id])
	}
	return nil, fmt.Errorf("%w: unknown compression id %d", ErrCorrupt, id)
}

var flateReaders sync.Pool

// inflateZlib inflates a zlib stream (RFC 1950): a header, deflate data,
// and the Adler-32 of the output, checked with the faster adler32.
func inflateZlib(dst, src []byte) ([]byte, error) {
	if len(src) < 2 || src[0]&0x0f != 8 || src[0]>>4 > 7 || binary.BigEndian.Uint16(src)%31 != 0 {
		return nil, errors.New("zlib: invalid header")
	}
	if src[1]&0x20 != 0 {
		return nil, errors.New("zlib: preset dictionary")
	}
	in := bytes.NewReader(src[2:])
	fr, ok := flateReaders.Get().(io.ReadCloser)
	if ok {
		fr.(flate.Resetter).Reset(in, nil)
	} else {
		fr = flate.NewReader(in)
	}
	defer flateReaders.Put(fr)
	out, err := readFull(dst, fr)
	if err != nil {
		return nil, err
	}
	// flate reads a bytes.Reader to the end of the deflate data, no further.
	var sum [4]byte
	if _, err := io.ReadFull(in, sum[:]); err != nil {
		return nil, errors.New("zlib: no checksum after the data")
	}
	if binary.BigEndian.Uint32(sum[:]) != adler32(out) {
		return nil, errors.New("zlib: invalid checksum")
	}
	return out, nil
}

// readFull reads r to its end into dst's capacity. It fails if r does,
// a stream cut short included, and if more is left.
func readFull(dst []byte, r io.Reader) ([]byte, error) {
	dst = dst[:cap(dst)]
	n := 0
	for n < len(dst) {
		k, err := r.Read(dst[n:])
		n += k
		if err == io.EOF {
			return dst[:n], nil
		}
		if err != nil {
			return nil, err
		}
	}
	var one [1]byte
	if k, err := r.Read(one[:]); k > 0 {
		return nil, fmt.Errorf("block inflates past %d bytes", len(dst))
	} else if err != nil && err != io.EOF {
		return nil, err
	}
	return dst, nil
}

func inflateXz(dst, src []byte) ([]byte, error) {
	if err := checkXzFilters(src); err != nil {
		return nil, err
	}
	r, err := xz.NewReader(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	return readFull(dst, r)
}

// zstdDecoder stops at the largest block: a small frame that claims to
// inflate to more fails before it costs the memory.
// xz filter ids (the xz file format, section 5.3).
var xzFilters = map[uint64]string{0x03: "delta", 0x04: "BCJ x86", 0x05: "BCJ PowerPC", 0x06: "BCJ IA-64",
	0x07: "BCJ ARM", 0x08: "BCJ ARM-Thumb", 0x09: "BCJ SPARC", 0x0A: "BCJ ARM64", 0x0B: "BCJ RISC-V", 0x21: "LZMA2"}

// checkXzFilters reads the filters of the first block of an xz stream:
// only LZMA2 alone is read (mksquashfs -Xbcj adds a BCJ filter), with a
// dictionary no larger than a block, which the reader would allocate.
func checkXzFilters(src []byte) error {
	const streamHeader = 12
	if len(src) < streamHeader+2 {
		return errors.New("xz: stream cut short")
	}
	hdr := src[streamHeader:]
	size := (int(hdr[0]) + 1) * 4 // with its CRC32, the last 4 bytes
	if hdr[0] == 0 || len(hdr) < size {
		return errors.New("xz: bad block header")
	}
	flags, pos := hdr[1], 2
	next := func() (uint64, bool) { // a multibyte integer, as LEB128
		v, n := binary.Uvarint(hdr[pos : size-4])
		pos += max(n, 0)
		return v, n > 0
	}
	for _, present := range []bool{flags&0x40 != 0, flags&0x80 != 0} { // compressed, uncompressed size
		if !present {
			continue
		}
		if _, ok := next(); !ok {
			return errors.New("xz: bad block header")
		}
	}
	id, ok := next()
	if !ok {
		return errors.New("xz: bad block header")
	}
	if n := int(flags&3) + 1; n > 1 {
		return fmt.Errorf("%w: xz filters %s and %d more (mksquashfs -Xbcj): franzfs reads plain xz", ErrUnsupported, filterName(id), n-1)
	}
	props, ok := next()
	if id != 0x21 || !ok || props != 1 || pos >= size-4 {
		return fmt.Errorf("%w: xz filter %s: franzfs reads plain xz", ErrUnsupported, filterName(id))
	}
	if b := hdr[pos]; b > 40 || (2|uint64(b&1))<<(b/2+11) > maxBlockSize {
		return fmt.Errorf("xz: an LZMA2 dictionary larger than a block (property %d)", b)
	}
	return nil
}

func filterName(id uint64) string {
	if name, ok := xzFilters[id]; ok {
		return name
	}
	return fmt.Sprintf("%#x", id)
}

var zstdDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxBlockSize))

func inflateZstd(dst, src []byte) ([]byte, error) {
	out, err := zstdDecoder.DecodeAll(src, dst[:0])
	if err != nil {
		return nil, err
	}
	if len(out) > cap(dst) {
		return nil, fmt.Errorf("block inflates past %d bytes", cap(dst))
	}
	return out, nil
}

// inflateLz4 reads squashfs's lz4: raw lz4 blocks, not lz4 frames.
func inflateLz4(dst, src []byte) ([]byte, error) {
	n, err := lz4.UncompressBlock(src, dst[:cap(dst)])
	if err != nil {
		return nil, err
	}
	return dst[:n], nil
}
