package store

import (
	"fmt"
	"slices"
)

// A Batch gathers records for one Commit. Adding to it takes no lock and
// copies each payload once, into one buffer, so that many small records
// cost about what writing their bytes costs. A Batch is for one goroutine;
// Reset makes it reusable.
type Batch struct {
	payloads []byte     // the payloads, end to end
	ends     []int64    // where each record's payload ends in payloads
	values   []int64    // width index values per record
	width    int        // index values per record, set by the first Add
	tags     []batchTag // postings to add, in record order
}

type batchTag struct {
	rec int
	tag string
}

// Add appends a record with its index values to the batch. It refuses a
// number of values unlike the batch's first record's, and then adds
// nothing; the values themselves are checked against the stream by Commit.
func (b *Batch) Add(payload []byte, index ...int64) error {
	if len(b.ends) > 0 && len(index) != b.width {
		return b.widthError(len(index))
	}
	b.width = len(index)
	b.payloads = append(b.payloads, payload...)
	b.ends = append(b.ends, int64(len(b.payloads)))
	for _, v := range index { // cheaper than a memmove for a few values
		b.values = append(b.values, v)
	}
	return nil
}

func (b *Batch) widthError(n int) error {
	return fmt.Errorf("%w: record %d of the batch has %d index values, its first has %d", ErrBadRecord, len(b.ends), n, b.width)
}

// Tag tags the record added last. It refuses a bad tag, and then tags
// nothing.
func (b *Batch) Tag(tags ...string) error {
	n := len(b.ends) - 1
	if n < 0 {
		return fmt.Errorf("%w: a tag for an empty batch", ErrBadRecord)
	}
	if err := validTags(tags); err != nil {
		return fmt.Errorf("record %d of the batch: %w", n, err)
	}
	for _, tag := range tags {
		if !b.tagged(n, tag) {
			b.tags = append(b.tags, batchTag{n, tag})
		}
	}
	return nil
}

// tagged says whether record rec, the last, has tag already.
func (b *Batch) tagged(rec int, tag string) bool {
	for i := len(b.tags) - 1; i >= 0 && b.tags[i].rec == rec; i-- {
		if b.tags[i].tag == tag {
			return true
		}
	}
	return false
}

func (b *Batch) payloadSize() int { return len(b.payloads) }

// Len returns the number of records in the batch.
func (b *Batch) Len() int { return len(b.ends) }

// Reset empties the batch and keeps its memory.
func (b *Batch) Reset() {
	b.payloads, b.ends, b.values, b.tags = b.payloads[:0], b.ends[:0], b.values[:0], b.tags[:0]
	b.width = 0
}

// Commit appends the batch's records in order, all or none, and returns
// the number of the first, as AppendBatch does. Then it empties the batch,
// taking over its memory rather than copying its payloads; a batch it
// refuses is left as it was.
func (w *Writer) Commit(b *Batch) (int64, error) {
	w.mu.Lock()
	first := w.count + w.pending
	if err := w.usable(); err != nil {
		w.mu.Unlock()
		return first, err
	}
	n := len(b.ends)
	if n > 0 && b.width != len(w.indices) {
		w.mu.Unlock()
		return first, fmt.Errorf("stream %s: record %d: %w", w.dir, first, w.badCount(b.width))
	}
	m := w.mark()
	w.obuf = slices.Grow(w.obuf, n*int(w.width))
	if k, err := w.encode(w.end+int64(w.pbuf.size), b.ends, b.values); err != nil {
		w.rollback(m)
		w.mu.Unlock()
		return first, fmt.Errorf("stream %s: record %d: %w", w.dir, first+int64(k), err)
	}
	for _, t := range b.tags {
		w.postOne(t.tag, first+int64(t.rec))
	}
	payloads := w.pbuf.take(b.payloads)
	b.Reset()
	b.payloads = payloads
	w.pending += int64(n)
	return first, w.flushIfFull(int64(n))
}
