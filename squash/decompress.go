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
	"github.com/therootcompany/xz"
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

// xzReaders are decoders to reuse: each holds a dictionary of up to a
// block, which a new one would allocate for every block.
var xzReaders sync.Pool

// inflateXz reads an xz stream, BCJ filters included (mksquashfs -Xbcj).
// A dictionary larger than a block, which mksquashfs never writes, is
// refused before it is allocated.
func inflateXz(dst, src []byte) ([]byte, error) {
	in := bytes.NewReader(src)
	r, ok := xzReaders.Get().(*xz.Reader)
	if ok {
		if err := r.Reset(in); err != nil {
			return nil, xzErr(err)
		}
	} else {
		var err error
		if r, err = xz.NewReader(in, maxBlockSize); err != nil {
			return nil, xzErr(err)
		}
	}
	out, err := readFull(dst, r)
	if err != nil {
		return nil, xzErr(err) // the reader may be in any state: not reused
	}
	xzReaders.Put(r)
	return out, nil
}

func xzErr(err error) error {
	if errors.Is(err, xz.ErrMemlimit) {
		return fmt.Errorf("xz: an LZMA2 dictionary larger than a block: %w", err)
	}
	return fmt.Errorf("xz: %w", err)
}

// zstdDecoder stops at the largest block: a small frame that claims to
// inflate to more fails before it costs the memory.
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
