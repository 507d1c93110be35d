package store

import (
	"encoding/binary"
	"fmt"
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

// parseIndices reads the indices file: one name per line, a final newline
// optional, an empty file for none.
func parseIndices(data []byte) ([]string, error) {
	text := strings.TrimSuffix(string(data), "\n")
	if text == "" {
		return nil, nil
	}
	names := strings.Split(text, "\n")
	seen := make(map[string]bool, len(names))
	for i, name := range names {
		name = strings.TrimSuffix(name, "\r")
		if err := ValidIndexName(name); err != nil {
			return nil, fmt.Errorf("%w: indices line %d: %v", ErrCorrupt, i+1, err)
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: indices line %d: index %q named twice", ErrCorrupt, i+1, name)
		}
		seen[name] = true
		names[i] = name
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
