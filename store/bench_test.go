package store

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// benchStream is a stream of n 100-byte records whose time index rises by
// 1000 a record.
func benchStream(b *testing.B, n int64) *Stream {
	b.Helper()
	dir := b.TempDir()
	w, err := OpenWriter(dir, WriterOptions{Create: true, Indices: []string{"time"}, Buffer: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 100)
	for i := range n {
		if _, err := w.Append(Record{Payload: payload, Index: []int64{i * 1000}}); err != nil {
			b.Fatal(err)
		}
	}
	w.Close()
	s, err := OpenDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkAppend100(b *testing.B) {
	w, err := OpenWriter(b.TempDir(), WriterOptions{Create: true, Indices: []string{"time"}, Buffer: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	payload := make([]byte, 100)
	b.SetBytes(100 + 16)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := w.Append(Record{Payload: payload, Index: []int64{int64(i)}}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRecord(b *testing.B) {
	const n = 1_000_000
	s := benchStream(b, n)
	rng := rand.New(rand.NewPCG(1, 1))
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = s.AppendRecord(buf[:0], rng.Int64N(n)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIndexRange(b *testing.B) {
	const n = 1_000_000
	s := benchStream(b, n)
	rng := rand.New(rand.NewPCG(1, 1))
	b.ReportAllocs()
	for b.Loop() {
		x := rng.Int64N(n * 1000)
		if _, err := s.View(Path{Kind: KindIndex, Index: "time", From: Bound{x, true}, To: Bound{x + 50_000, true}}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	s := benchStream(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		s2, err := OpenDir(s.Dir())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s2.Count(); err != nil {
			b.Fatal(err)
		}
		s2.Close()
	}
}

func BenchmarkAppendBatch100(b *testing.B) {
	w, err := OpenWriter(b.TempDir(), WriterOptions{Create: true, Indices: []string{"time"}, Buffer: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	payload := make([]byte, 100)
	batch := make([]Record, 100)
	values := make([]int64, 100)
	b.SetBytes(100 * (100 + 16))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for k := range batch {
			values[k] = int64(i*100 + k)
			batch[k] = Record{Payload: payload, Index: values[k : k+1]}
		}
		if _, err := w.AppendBatch(batch); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCommit100(b *testing.B) {
	w, err := OpenWriter(b.TempDir(), WriterOptions{Create: true, Indices: []string{"time"}, Buffer: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	payload := make([]byte, 100)
	var batch Batch
	b.SetBytes(100 * (100 + 16))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for k := range 100 {
			batch.Add(payload, int64(i*100+k))
		}
		if _, err := w.Commit(&batch); err != nil {
			b.Fatal(err)
		}
		batch.Reset()
	}
}

// BenchmarkTagView reads tag/t0 of a stream where every tenth of 1M
// records has it, as the daemon answers a view: Size, then ReadAt in
// 256 KiB pieces. Bytes are those of the answer.
func BenchmarkTagView(b *testing.B) {
	const n = 1_000_000
	dir := b.TempDir()
	w, err := OpenWriter(dir, WriterOptions{Create: true, Indices: []string{"time"}, Buffer: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 100)
	var batch Batch
	for i := range int64(n) {
		batch.Add(payload, i)
		tags := []string{"t1"}
		if i%10 == 0 {
			tags = append(tags, "t0")
		}
		batch.Tag(tags...)
		if batch.Len() == 10_000 {
			if _, err := w.Commit(&batch); err != nil {
				b.Fatal(err)
			}
			batch.Reset()
		}
	}
	w.Close()
	s, err := OpenDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	q, _ := ParseQuery("t0")
	buf := make([]byte, 256<<10)
	b.SetBytes(n / 10 * 100)
	b.ReportAllocs()
	for b.Loop() {
		v, err := s.View(Path{Kind: KindQuery, Query: q})
		if err != nil {
			b.Fatal(err)
		}
		size, err := v.Size()
		if err != nil {
			b.Fatal(err)
		}
		for off := int64(0); off < size; off += int64(len(buf)) {
			if _, err := v.ReadAt(buf, off); err != nil && off+int64(len(buf)) < size {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkMultiget opens, sizes and reads a list of 100 random records
// of 1M, as the daemon answers seq/A,B,...
func BenchmarkMultiget(b *testing.B) {
	const n = 1_000_000
	s := benchStream(b, n)
	rng := rand.New(rand.NewPCG(1, 1))
	buf := make([]byte, 100*100)
	b.ReportAllocs()
	for b.Loop() {
		list := make([]byte, 0, 1024)
		for i := range 100 {
			if i > 0 {
				list = append(list, ',')
			}
			list = strconv.AppendInt(list, rng.Int64N(n), 10)
		}
		p, err := ParsePath("seq/" + string(list))
		if err != nil {
			b.Fatal(err)
		}
		v, err := s.View(p)
		if err != nil {
			b.Fatal(err)
		}
		if size, err := v.Size(); err != nil || size != 100*100 {
			b.Fatal(size, err)
		}
		if _, err := v.ReadAt(buf, 0); err != nil {
			b.Fatal(err)
		}
	}
}
