package store

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// The file names of a stream (SPEC section 1).
const (
	PayloadsFile = "payloads"
	OffsetsFile  = "offsets"
	IndicesFile  = "indices"
	TagsDir      = "tags"
	lockFile     = ".lock" // franz readers and the mount ignore dot files
)

const wordSize = 8

// tupleWidth is the size in bytes of one record's entry in offsets.
func tupleWidth(indices int) int64 { return wordSize * int64(1+indices) }

func word(b []byte) int64 { return int64(binary.LittleEndian.Uint64(b)) }

func appendWord(b []byte, v int64) []byte { return binary.LittleEndian.AppendUint64(b, uint64(v)) }

// maxIndicesSize bounds what is read of an indices file: MaxIndices names
// of the longest kind, each with its newline.
const maxIndicesSize = MaxIndices * (maxIndexNameLen + 1)

// readIndices reads and parses an indices file, reading no more than a
// valid one can hold.
func readIndices(r io.Reader) ([]string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxIndicesSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxIndicesSize {
		return nil, fmt.Errorf("%w: indices file over %d bytes, more than %d index names hold", ErrCorrupt, maxIndicesSize, MaxIndices)
	}
	return parseIndices(data)
}

// parseIndices splits an indices file into names exactly as franz does
// (Haskell's lines): a final newline adds no name, an empty file is no
// index, "\n" is one index named "", and a \r is part of a name. Names
// franzfs would not create are read all the same: franz's writer takes any.
func parseIndices(data []byte) ([]string, error) {
	if len(data) == 0 {
		return nil, nil
	}
	text := strings.TrimSuffix(string(data), "\n")
	if n := strings.Count(text, "\n") + 1; n > MaxIndices {
		return nil, fmt.Errorf("%w: %d index names, more than the %d franzfs reads", ErrCorrupt, n, MaxIndices)
	}
	names := strings.Split(text, "\n")
	for i, name := range names {
		if len(name) > maxIndexNameLen {
			return nil, fmt.Errorf("%w: indices line %d: index name of %d bytes, more than %d", ErrCorrupt, i+1, len(name), maxIndexNameLen)
		}
	}
	return names, nil
}

func formatIndices(names []string) []byte {
	var b strings.Builder
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}
