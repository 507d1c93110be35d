package store

import (
	"fmt"
	"io"
)

// maxInline is the largest record a scan reads into memory whole; a
// larger one is copied out in pieces, so that a record of any size costs
// a reader no more memory than this.
const maxInline = 1 << 20

// A Payload is one record's bytes as a scan meets them: in memory when the
// record is small, else read from payloads as it is written out. It is
// only valid during the scan's call.
type Payload struct {
	s          *Stream
	rec        int64
	start, end int64  // in payloads
	buf        []byte // the bytes, for a record of at most maxInline
}

// Len is the record's size.
func (p *Payload) Len() int64 { return p.end - p.start }

// Large reports whether the record is over 1 MiB: the scan left it in
// payloads, for WriteTo to copy out in pieces.
func (p *Payload) Large() bool { return p.Len() > maxInline }

// Inline returns the bytes of a record that is not Large.
func (p *Payload) Inline() []byte { return p.buf }

// Bytes returns the record's bytes, reading a Large one whole.
func (p *Payload) Bytes() ([]byte, error) {
	if !p.Large() {
		return p.buf, nil
	}
	b := make([]byte, p.Len())
	return b, p.s.readPayloads(b, p.start)
}

// WriteTo writes the record's bytes to w, a Large one a piece at a time.
func (p *Payload) WriteTo(w io.Writer) (int64, error) {
	if !p.Large() {
		n, err := w.Write(p.buf)
		return int64(n), err
	}
	n, err := io.Copy(w, io.NewSectionReader(p.s.payloads, p.start, p.Len()))
	if err == nil && n < p.Len() {
		err = fmt.Errorf("stream %s: record %d: payloads ends at byte %d, before its end %d: %w", p.s.name, p.rec, p.start+n, p.end, ErrCorrupt)
	}
	return n, err
}
