// Command benchstore measures the store package and prints its figures,
// each beside a baseline measured in the same run. scripts/bench.sh runs it.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/franzfs/franzfs/store"
)

func main() {
	records := flag.Int64("records", 10_000_000, "records in the stream used for read latencies")
	flag.IntVar(&bufSize, "buffer", bufSize, "the writer's buffer")
	flag.Parse()
	dir, err := os.MkdirTemp("", "franzfs-bench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	fmt.Println("== append, sync none, 1 MiB buffer, vs raw buffered writes of the same bytes")
	fmt.Printf("%-8s %-22s %12s %8s %7s\n", "record", "how", "records/s", "MB/s", "vs raw")
	for _, c := range []struct {
		size  int
		count int
	}{{100, 1_000_000}, {4096, 50_000}} {
		benchAppend(dir, c.size, c.count)
	}

	fmt.Printf("\n== reads on a stream of %d records of 100 B with a time index\n", *records)
	path := filepath.Join(dir, "big")
	build(path, *records)
	benchReads(path, *records)
}

// benchAppend appends count records of size bytes, one Append each, in
// AppendBatch calls of 100 and in Batches of 100, then writes the same bytes with bufio straight
// to two files, and prints the rates. The page cache makes single runs
// noisy: the runs alternate, and the best of seven of each counts.
func benchAppend(dir string, size, count int) {
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	var single, batch, commit, raw time.Duration
	for run := range 7 {
		d := filepath.Join(dir, fmt.Sprintf("append-%d-%d", size, run))
		single = best(single, timeIt(func() { appendRecords(d, payload, count, 1) }))
		os.RemoveAll(d)
		batch = best(batch, timeIt(func() { appendRecords(d, payload, count, 100) }))
		os.RemoveAll(d)
		commit = best(commit, timeIt(func() { commitRecords(d, payload, count, 100) }))
		os.RemoveAll(d)
		raw = best(raw, timeIt(func() { rawWrite(d, payload, count) }))
		os.RemoveAll(d)
	}
	mb := float64(count*(size+16)) / 1e6
	line := func(what string, d time.Duration) {
		fmt.Printf("%-8s %-22s %12.0f %8.0f %7.2f\n", fmt.Sprintf("%d B", size), what, float64(count)/d.Seconds(), mb/d.Seconds(), raw.Seconds()/d.Seconds())
	}
	line("Append", single)
	line("AppendBatch of 100", batch)
	line("Batch of 100, Commit", commit)
	line("raw bufio writes", raw)
}

var bufSize = 1 << 20

func timeIt(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

func appendRecords(dir string, payload []byte, count, per int) {
	w, err := store.OpenWriter(dir, store.WriterOptions{Create: true, Indices: []string{"time"}, Buffer: bufSize})
	check(err)
	batch := make([]store.Record, per)
	values := make([]int64, per) // reused, as a caller's own buffers would be
	for i := 0; i < count; i += per {
		for k := range batch {
			values[k] = int64(i + k)
			batch[k] = store.Record{Payload: payload, Index: values[k : k+1]}
		}
		if per == 1 {
			_, err = w.Append(batch[0])
		} else {
			_, err = w.AppendBatch(batch)
		}
		check(err)
	}
	check(w.Close())
}

func commitRecords(dir string, payload []byte, count, per int) {
	w, err := store.OpenWriter(dir, store.WriterOptions{Create: true, Indices: []string{"time"}, Buffer: bufSize})
	check(err)
	var b store.Batch
	for i := 0; i < count; i += per {
		for k := range per {
			check(b.Add(payload, int64(i+k)))
		}
		_, err = w.Commit(&b)
		check(err)
		b.Reset()
	}
	check(w.Close())
}

// rawWrite writes what the writer writes, payloads and offsets, with no
// checks, locks or format logic.
func rawWrite(dir string, payload []byte, count int) {
	check(os.MkdirAll(dir, 0o755))
	pf, err := os.Create(filepath.Join(dir, "payloads"))
	check(err)
	of, err := os.Create(filepath.Join(dir, "offsets"))
	check(err)
	pw, ow := bufio.NewWriterSize(pf, 1<<20), bufio.NewWriterSize(of, 1<<20)
	var tuple [16]byte
	for i := range count {
		pw.Write(payload)
		binary.LittleEndian.PutUint64(tuple[:], uint64((i+1)*len(payload)))
		binary.LittleEndian.PutUint64(tuple[8:], uint64(i))
		ow.Write(tuple[:])
	}
	check(pw.Flush())
	check(ow.Flush())
	check(pf.Close())
	check(of.Close())
}

func best(a, b time.Duration) time.Duration {
	if a == 0 || b < a {
		return b
	}
	return a
}

func build(path string, n int64) {
	w, err := store.OpenWriter(path, store.WriterOptions{Create: true, Indices: []string{"time"}, Buffer: 4 << 20})
	check(err)
	payload := make([]byte, 100)
	// Times rise by 1000 a record, with runs of equal values.
	for i := range n {
		binary.LittleEndian.PutUint64(payload, uint64(i))
		_, err := w.Append(store.Record{Payload: payload, Index: []int64{i / 4 * 4000}})
		check(err)
	}
	check(w.Close())
}

func benchReads(path string, n int64) {
	const opens = 1000
	var openTimes []time.Duration
	for range opens {
		start := time.Now()
		s, err := store.OpenDir(path)
		check(err)
		c, err := s.Count()
		check(err)
		if c != n {
			log.Fatalf("count %d, want %d", c, n)
		}
		s.Close()
		openTimes = append(openTimes, time.Since(start))
	}
	report("open + count + close", openTimes, "target < 1 ms")

	s, err := store.OpenDir(path)
	check(err)
	defer s.Close()
	rng := rand.New(rand.NewPCG(7, 7))
	const probes = 200_000
	var buf []byte
	// Warm: the same probes twice, the second pass measured.
	idx := make([]int64, probes)
	for i := range idx {
		idx[i] = rng.Int64N(n)
	}
	var recTimes []time.Duration
	for pass := range 2 {
		recTimes = recTimes[:0]
		for _, i := range idx {
			start := time.Now()
			buf, err = s.AppendRecord(buf[:0], i)
			d := time.Since(start)
			check(err)
			if binary.LittleEndian.Uint64(buf) != uint64(i) {
				log.Fatalf("record %d holds %d", i, binary.LittleEndian.Uint64(buf))
			}
			if pass == 1 {
				recTimes = append(recTimes, d)
			}
		}
	}
	report("random Record(i), warm", recTimes, "target < 2 us")

	var rangeTimes []time.Duration
	maxT := (n - 1) / 4 * 4000
	for pass := range 2 {
		rangeTimes = rangeTimes[:0]
		for k := range probes / 4 {
			x := rng.Int64N(maxT - 100_000)
			p := store.Path{Kind: store.KindIndex, Index: "time", From: store.Bound{V: x, Set: true}, To: store.Bound{V: x + 100_000, Set: true}}
			start := time.Now()
			v, err := s.View(p)
			d := time.Since(start)
			check(err)
			if sz, _ := v.Size(); sz < 100*100 {
				log.Fatalf("range %d: %d bytes", k, sz)
			}
			if pass == 1 {
				rangeTimes = append(rangeTimes, d)
			}
		}
	}
	report("index range view open (index/time/X:Y), warm", rangeTimes, "")

	var searchTimes []time.Duration
	for pass := range 2 {
		searchTimes = searchTimes[:0]
		for range probes / 4 {
			x := rng.Int64N(maxT)
			start := time.Now()
			_, err := s.SearchIndex(0, x, n)
			d := time.Since(start)
			check(err)
			if pass == 1 {
				searchTimes = append(searchTimes, d)
			}
		}
	}
	report("index search (first record >= X), warm", searchTimes, "target < 5 us")
}

func report(what string, ds []time.Duration, target string) {
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	q := func(p float64) time.Duration { return ds[int(p*float64(len(ds)-1))] }
	fmt.Printf("%-44s mean %8s  p50 %8s  p99 %8s  (%s)\n", what, sum/time.Duration(len(ds)), q(0.5), q(0.99), target)
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
