// Package franzd speaks franzd's wire protocol (FRANZD.md sections 1-7):
// the server that answers franz's own clients from franzfs streams, and a
// client that reads from any franzd.
package franzd

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"unicode/utf8"
)

// DefaultPort is franzd's port.
const DefaultPort = 1886

// version is the handshake's answer: apiVersion "0", one bare byte.
const version = '0'

// Request tags (RawRequest).
const (
	tagQuery = 0
	tagClean = 1
)

// An ItemRef is one end of a query: a record number (negative counts from
// the end) or a value of an index.
type ItemRef struct {
	ByIndex bool
	Index   string // ByIndex: the index's name
	N       int64  // a record number, or the index value
}

// BySeqNum refers to record n; -1 is the last.
func BySeqNum(n int64) ItemRef { return ItemRef{N: n} }

// ByIndex refers to a value of an index.
func ByIndex(name string, v int64) ItemRef { return ItemRef{ByIndex: true, Index: name, N: v} }

// RequestType says which records of a query's range the answer holds.
type RequestType byte

const (
	AllItems  RequestType = 0
	LastItem  RequestType = 1
	FirstItem RequestType = 2
)

// A Query asks for the records of a stream between two ends, both included.
type Query struct {
	Stream   string
	From, To ItemRef
	Type     RequestType
}

// Response tags (ResponseHeader).
const (
	tagResponse = 0
	tagWait     = 1
	tagError    = 2
)

// ExceptionKind is FranzException's constructor.
type ExceptionKind byte

const (
	MalformedRequest ExceptionKind = 0
	StreamNotFound   ExceptionKind = 1
	IndexNotFound    ExceptionKind = 2
	InternalError    ExceptionKind = 3
	ClientError      ExceptionKind = 4
)

var kindNames = [...]string{"MalformedRequest", "StreamNotFound", "IndexNotFound", "InternalError", "ClientError"}

func (k ExceptionKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("FranzException(%d)", k)
}

// An Exception is franz's FranzException: what a server answers a request
// it cannot serve.
type Exception struct {
	Kind    ExceptionKind
	Text    string   // all but IndexNotFound: a String
	Index   string   // IndexNotFound: the unknown name
	Indices []string // IndexNotFound: the stream's index names
}

func (e *Exception) Error() string {
	if e.Kind == IndexNotFound {
		return fmt.Sprintf("IndexNotFound %q %q", e.Index, e.Indices)
	}
	return fmt.Sprintf("%s %q", e.Kind, e.Text)
}

// A Header is a Response's PayloadHeader: the answer holds records
// s0+1..s1, whose payloads start at byte p0.
type Header struct {
	S0, S1, P0 int64
	Indices    []string
}

// Records is how many records follow the header.
func (h Header) Records() int64 { return max(0, h.S1-h.S0) }

// Limits on what a peer may send, so that a hostile one cannot make the
// other side allocate without bound.
const (
	// MaxName bounds a handshake directory, stream and index name.
	MaxName = 4096
	// maxNames bounds the index names of a PayloadHeader and IndexNotFound.
	maxNames = 1 << 16
	// maxText bounds an exception's text, in characters.
	maxText = 1 << 20
)

// errMalformed marks input that does not decode: the connection ends.
var errMalformed = errors.New("malformed")

// A decoder reads cereal's encoding.
type decoder struct{ r *bufio.Reader }

func (d decoder) byte() (byte, error) { return d.r.ReadByte() }

// int reads a cereal Int: 8 bytes big-endian.
func (d decoder) int() (int64, error) {
	var b [8]byte
	if _, err := io.ReadFull(d.r, b[:]); err != nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(b[:])), nil
}

// le reads a little-endian word, as PayloadHeader and tuples hold them.
func (d decoder) le() (int64, error) {
	var b [8]byte
	if _, err := io.ReadFull(d.r, b[:]); err != nil {
		return 0, err
	}
	return int64(binary.LittleEndian.Uint64(b[:])), nil
}

// bytes reads a strict ByteString: an Int length, then the bytes.
func (d decoder) bytes(limit int) (string, error) {
	n, err := d.int()
	if err != nil {
		return "", err
	}
	if n < 0 || n > int64(limit) {
		return "", fmt.Errorf("%w: a string of %d bytes, more than %d", errMalformed, n, limit)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		return "", err
	}
	return string(b), nil
}

// text reads a cereal String: a count of characters, then each UTF-8.
func (d decoder) text() (string, error) {
	n, err := d.int()
	if err != nil {
		return "", err
	}
	if n < 0 || n > maxText {
		return "", fmt.Errorf("%w: a text of %d characters, more than %d", errMalformed, n, maxText)
	}
	var b []byte
	for range n {
		c, err := d.r.ReadByte()
		if err != nil {
			return "", err
		}
		b = append(b, c)
		// A lead byte's high ones count the bytes of its character.
		if n := bits.LeadingZeros8(^c); n >= 2 && n <= utf8.UTFMax {
			for range n - 1 {
				c, err := d.r.ReadByte()
				if err != nil {
					return "", err
				}
				b = append(b, c)
			}
		}
	}
	return string(b), nil
}

func (d decoder) names() ([]string, error) {
	n, err := d.int()
	if err != nil {
		return nil, err
	}
	if n < 0 || n > maxNames {
		return nil, fmt.Errorf("%w: %d names, more than %d", errMalformed, n, maxNames)
	}
	names := make([]string, 0, min(n, 256))
	for range n {
		name, err := d.bytes(MaxName)
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}

func (d decoder) itemRef() (ItemRef, error) {
	tag, err := d.byte()
	if err != nil {
		return ItemRef{}, err
	}
	switch tag {
	case 0:
		n, err := d.int()
		return BySeqNum(n), err
	case 1:
		name, err := d.bytes(MaxName)
		if err != nil {
			return ItemRef{}, err
		}
		v, err := d.int()
		return ByIndex(name, v), err
	}
	return ItemRef{}, fmt.Errorf("%w: ItemRef tag %d", errMalformed, tag)
}

func (d decoder) query() (Query, error) {
	var q Query
	var err error
	if q.Stream, err = d.bytes(MaxName); err != nil {
		return q, err
	}
	if q.From, err = d.itemRef(); err != nil {
		return q, err
	}
	if q.To, err = d.itemRef(); err != nil {
		return q, err
	}
	t, err := d.byte()
	if err != nil {
		return q, err
	}
	if t > byte(FirstItem) {
		return q, fmt.Errorf("%w: RequestType tag %d", errMalformed, t)
	}
	q.Type = RequestType(t)
	return q, nil
}

func (d decoder) exception() (*Exception, error) {
	tag, err := d.byte()
	if err != nil {
		return nil, err
	}
	e := &Exception{Kind: ExceptionKind(tag)}
	switch e.Kind {
	case IndexNotFound:
		if e.Index, err = d.bytes(MaxName); err == nil {
			e.Indices, err = d.names()
		}
	case MalformedRequest, StreamNotFound, InternalError, ClientError:
		e.Text, err = d.text()
	default:
		err = fmt.Errorf("%w: FranzException tag %d", errMalformed, tag)
	}
	return e, err
}

// header reads a PayloadHeader: three little-endian words, then the index
// names with a big-endian count.
func (d decoder) header() (Header, error) {
	var h Header
	var err error
	if h.S0, err = d.le(); err != nil {
		return h, err
	}
	if h.S1, err = d.le(); err != nil {
		return h, err
	}
	if h.P0, err = d.le(); err != nil {
		return h, err
	}
	h.Indices, err = d.names()
	return h, err
}

// Encoding appends to a byte slice.

func appendInt(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }

func appendLE(b []byte, v int64) []byte { return binary.LittleEndian.AppendUint64(b, uint64(v)) }

func appendBytes(b []byte, s string) []byte { return append(appendInt(b, int64(len(s))), s...) }

// appendText writes a cereal String: its count of characters first. Bytes
// that are not UTF-8 go as U+FFFD, so that the count holds.
func appendText(b []byte, s string) []byte {
	b = appendInt(b, int64(utf8.RuneCountInString(s)))
	for _, r := range s {
		b = utf8.AppendRune(b, r)
	}
	return b
}

func appendItemRef(b []byte, r ItemRef) []byte {
	if r.ByIndex {
		return appendInt(appendBytes(append(b, 1), r.Index), r.N)
	}
	return appendInt(append(b, 0), r.N)
}

// appendQuery writes RawRequest's ask: tag, id, Query.
func appendQuery(b []byte, id int64, q Query) []byte {
	b = appendInt(append(b, tagQuery), id)
	b = appendBytes(b, q.Stream)
	b = appendItemRef(b, q.From)
	b = appendItemRef(b, q.To)
	return append(b, byte(q.Type))
}

func appendClean(b []byte, id int64) []byte { return appendInt(append(b, tagClean), id) }

func appendHeader(b []byte, id int64, h Header) []byte {
	b = appendInt(append(b, tagResponse), id)
	b = appendLE(appendLE(appendLE(b, h.S0), h.S1), h.P0)
	b = appendInt(b, int64(len(h.Indices)))
	for _, name := range h.Indices {
		b = appendBytes(b, name)
	}
	return b
}

func appendWait(b []byte, id int64) []byte { return appendInt(append(b, tagWait), id) }

func appendError(b []byte, id int64, e *Exception) []byte {
	b = append(appendInt(append(b, tagError), id), byte(e.Kind))
	if e.Kind == IndexNotFound {
		b = appendBytes(b, e.Index)
		b = appendInt(b, int64(len(e.Indices)))
		for _, name := range e.Indices {
			b = appendBytes(b, name)
		}
		return b
	}
	return appendText(b, e.Text)
}

// connectionID is the request id of errors about the whole connection.
const connectionID = -1
