package store

import (
	"fmt"
	"strconv"
	"strings"
)

// Limits of the names SPEC section 1 allows.
const (
	maxTagLen       = 128
	maxComponentLen = 255
)

// ValidTag reports whether tag is 1 to 128 characters of [A-Za-z0-9_-].
// Index names follow the same rule, so that both can appear in paths and
// query expressions unescaped.
func ValidTag(tag string) error {
	if tag == "" {
		return fmt.Errorf("%w: empty tag", ErrBadName)
	}
	if len(tag) > maxTagLen {
		return fmt.Errorf("%w: tag %.20q... is %d characters, more than %d", ErrBadName, tag, len(tag), maxTagLen)
	}
	for i := 0; i < len(tag); i++ {
		if !isWordByte(tag[i]) {
			return fmt.Errorf("%w: tag %q: character %q at %d is not one of [A-Za-z0-9_-]", ErrBadName, tag, tag[i], i)
		}
	}
	return nil
}

// MaxIndices bounds the indices of a stream: a record's offsets tuple
// holds a word for each, and every read of a tuple reads them all.
// Creating a stream with more is refused; opening one is an error.
const MaxIndices = 256

// MaxRecordTags bounds the tags of one record.
const MaxRecordTags = 64

// ValidIndexName applies the tag rule to an index name: the rule for the
// indices franzfs creates. Streams written by franz may hold any other
// name but a newline (an empty one too); IndexPathName spells those.
func ValidIndexName(name string) error {
	if err := ValidTag(name); err != nil {
		return fmt.Errorf("index name: %w", err)
	}
	return nil
}

// maxIndexNameLen bounds an index name read from a stream: one file name.
const maxIndexNameLen = 255

// escapeMark starts the path spelling of an index name that is not a
// valid tag, and no valid tag holds it.
const escapeMark = '%'

// IndexPathName spells an index name for index/NAME/ in the mount and over
// HTTP. A valid tag is itself; any other name, such as franz's unnamed
// index "", is '%' and the name with every byte outside [A-Za-z0-9_-]
// written %XX: "" is "%", "time\r" is "%time%0D".
func IndexPathName(name string) string {
	if ValidTag(name) == nil {
		return name
	}
	b := []byte{escapeMark}
	for i := 0; i < len(name); i++ {
		if c := name[i]; isWordByte(c) {
			b = append(b, c)
		} else {
			b = append(b, escapeMark, "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&15])
		}
	}
	return string(b)
}

// ParseIndexPathName reads a name IndexPathName spelled; each name has
// one spelling only.
func ParseIndexPathName(s string) (string, error) {
	if s == "" || s[0] != escapeMark {
		return s, ValidIndexName(s)
	}
	var b []byte
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c != escapeMark {
			if !isWordByte(c) {
				return "", fmt.Errorf("%w: index name %q: %q must be written %%%02X", ErrBadName, s, c, c)
			}
			b = append(b, c)
			continue
		}
		v, err := strconv.ParseUint(s[i+1:min(i+3, len(s))], 16, 8)
		if err != nil || len(s) < i+3 || isWordByte(byte(v)) || strings.ToUpper(s[i+1:i+3]) != s[i+1:i+3] {
			return "", fmt.Errorf("%w: index name %q: bad escape at %d", ErrBadName, s, i)
		}
		b = append(b, byte(v))
		i += 2
	}
	if len(b) > maxIndexNameLen || ValidTag(string(b)) == nil {
		return "", fmt.Errorf("%w: index name %q is not spelled as IndexPathName spells it", ErrBadName, s)
	}
	return string(b), nil
}

// ValidStreamName reports whether name is a stream path relative to a live
// root: components of [A-Za-z0-9._-], none starting with '.', none empty, at
// most 255 bytes each, separated by '/'.
func ValidStreamName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty stream name", ErrBadName)
	}
	for comp := range strings.SplitSeq(name, "/") {
		switch {
		case comp == "":
			return fmt.Errorf("%w: stream name %q has an empty component", ErrBadName, name)
		case comp[0] == '.':
			return fmt.Errorf("%w: stream name %q: component %q starts with '.'", ErrBadName, name, comp)
		case len(comp) > maxComponentLen:
			return fmt.Errorf("%w: stream name %.40q...: a component is %d bytes, more than %d", ErrBadName, name, len(comp), maxComponentLen)
		}
		for i := 0; i < len(comp); i++ {
			if c := comp[i]; !isWordByte(c) && c != '.' {
				return fmt.Errorf("%w: stream name %q: character %q is not one of [A-Za-z0-9._-]", ErrBadName, name, c)
			}
		}
	}
	return nil
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}
