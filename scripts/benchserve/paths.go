package main

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/franzfs/franzfs/store"
)

// The daemon's request paths against what HTTP itself allows on this
// machine: a minimal net/http handler in a process of its own that answers
// a fixed 100 B body (for gets) or reads and discards the body (appends).

const (
	pathRecords = 1_000_000
	round       = 1500 * time.Millisecond
	rounds      = 3
)

// baseline serves as the minimal handler kind ("fixed" or "discard") when
// the benchmark runs itself with -baseline.
func baseline(kind string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	fmt.Println("ready:", ln.Addr())
	fixed := bytes.Repeat([]byte("x"), recordSize)
	log.Fatal(http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if kind == "fixed" {
			w.Write(fixed)
			return
		}
		io.Copy(io.Discard, r.Body)
		w.Write([]byte(`{"first":0,"count":1}` + "\n"))
	})))
}

func startBaseline(kind string) *served {
	self, err := os.Executable()
	check(err)
	return startReady(exec.Command(self, "-baseline", kind))
}

// benchPaths prints each figure of the read and write paths beside its
// baseline and target.
func benchPaths(dir string) {
	live := filepath.Join(dir, "paths")
	writeStreams(live)
	d := startServe(live)
	defer d.stop()
	fixed, discard := startBaseline("fixed"), startBaseline("discard")
	defer fixed.stop()
	defer discard.stop()
	payload := bytes.Repeat([]byte("y"), recordSize)

	fmt.Printf("\n== request paths, %d B records, %s rounds, median of %d\n", recordSize, round, rounds)
	for _, clients := range []int{1, 16} {
		base := rate(clients, func(c *http.Client, _ *rand.Rand) { post(c, discard.url+"/x", payload) })
		got := rate(clients, func(c *http.Client, _ *rand.Rand) { post(c, d.url+"/streams/one", payload) })
		ratio(fmt.Sprintf("append one record, %d clients", clients), got, base, "req/s", 0.7)
	}
	for _, clients := range []int{1, 16} {
		base := rate(clients, func(c *http.Client, _ *rand.Rand) { fetch(c, fixed.url+"/x") })
		got := rate(clients, func(c *http.Client, r *rand.Rand) {
			fetch(c, fmt.Sprintf("%s/streams/ev/seq/%d", d.url, r.Int64N(pathRecords)))
		})
		ratio(fmt.Sprintf("get a random record, %d clients", clients), got, base, "req/s", 0.7)
	}
	span := rate(1, func(c *http.Client, r *rand.Rand) {
		a := r.Int64N(pathRecords - 100)
		fetch(c, fmt.Sprintf("%s/streams/ev/seq/%d:%d", d.url, a, a+99))
	})
	multi := rate(1, func(c *http.Client, r *rand.Rand) {
		// The URL built as a client that sends many would: into one buffer.
		u := append(make([]byte, 0, 1024), d.url+"/streams/ev/seq/"...)
		for i := range 100 {
			if i > 0 {
				u = append(u, ',')
			}
			u = strconv.AppendInt(u, r.Int64N(pathRecords), 10)
		}
		fetch(c, string(u))
	})
	ratio("multiget of 100 random records", multi, span, "req/s", 0.5)

	raw := scan(d.url + "/streams/ev/seq/0:")
	ratio("1M records, ?format=framed", scan(d.url+"/streams/ev/seq/0:?format=framed"), raw, "MB/s", 0.8)
	ratio("1M records, ?format=json", scan(d.url+"/streams/ev/seq/0:?format=json"), raw, "MB/s", 0.2)
	untagged := scan(d.url + "/streams/ev/seq/0:?format=framed")
	ratio("3 of 17 tags a record, framed", scan(d.url+"/streams/tg/seq/0:?format=framed"), untagged, "MB/s", 0.5)
	ratio("tag/t0 (10% of records)", scan(d.url+"/streams/tg/tag/t0"), raw, "MB/s", 0.2)
	ratio("query/t0+t1,t2", scan(d.url+"/streams/tg/query/t0+t1,t2"), raw, "MB/s", 0.2)

	b := startServe(filepath.Join(dir, "paths-batch"), "--sync", "batch")
	defer b.stop()
	plain := rate(1, func(c *http.Client, _ *rand.Rand) { post(c, b.url+"/streams/plain", payload) })
	tagged := rate(1, func(c *http.Client, _ *rand.Rand) { post(c, b.url+"/streams/tagged?tag=a&tag=b&tag=c", payload) })
	ratio("--sync batch, one record with 3 tags", tagged, plain, "req/s", 0.8)
	// What the filesystem allows: a tagged append must make 5 files
	// durable (payloads, offsets, 3 tag files), an untagged one 2.
	five, two := fsyncs(filepath.Join(dir, "fsyncs"), 5), fsyncs(filepath.Join(dir, "fsyncs"), 2)
	ratio("  the filesystem: fsync 5 files vs 2", five, two, "/s", 0.8)
}

// fsyncs returns how many times a second the first n of a record's files
// (payloads, offsets, three tag files) can each be appended to what one
// record adds and made durable, all fsyncs at once as franzfs makes them.
func fsyncs(dir string, n int) float64 {
	sizes := []int{recordSize, 16, 8, 8, 8}[:n] // a payload, a tuple of two words, postings
	check(os.MkdirAll(dir, 0o755))
	defer os.RemoveAll(dir)
	files := make([]*os.File, n)
	for i := range files {
		f, err := os.Create(filepath.Join(dir, strconv.Itoa(i)))
		check(err)
		defer f.Close()
		files[i] = f
	}
	data := make([]byte, recordSize)
	var rates []float64
	for range rounds {
		count := 0
		stop := time.Now().Add(round)
		start := time.Now()
		for time.Now().Before(stop) {
			var wg sync.WaitGroup
			for i, f := range files {
				_, err := f.Write(data[:sizes[i]])
				check(err)
				wg.Go(func() { check(f.Sync()) })
			}
			wg.Wait()
			count++
		}
		rates = append(rates, float64(count)/time.Since(start).Seconds())
	}
	slices.Sort(rates)
	return rates[len(rates)/2]
}

// writeStreams makes ev (1M records) and tg (1M records, each with 3 of
// 17 tags, t0 on every tenth) with the store library.
func writeStreams(live string) {
	rec := bytes.Repeat([]byte("z"), recordSize-1)
	rec = append(rec, '\n')
	for _, name := range []string{"ev", "tg"} {
		w, err := store.OpenWriter(filepath.Join(live, name), store.WriterOptions{Create: true, Indices: []string{store.TimeIndex}, Buffer: 1 << 20})
		check(err)
		var b store.Batch
		for i := range pathRecords {
			check(b.Add(rec, int64(i)))
			if name == "tg" {
				tags := []string{fmt.Sprintf("t%d", 1+i%16), fmt.Sprintf("t%d", 1+(i/16)%16)}
				if i%10 == 0 {
					tags = append(tags, "t0")
				} else {
					tags = append(tags, fmt.Sprintf("t%d", 1+(i/7)%16))
				}
				slices.Sort(tags)
				check(b.Tag(slices.Compact(tags)...))
			}
			if b.Len() == 10000 {
				_, err := w.Commit(&b)
				check(err)
			}
		}
		check(w.Close())
	}
}

// rate runs clients loops of f for a round, rounds times, and returns the
// median rate in calls per second.
func rate(clients int, f func(*http.Client, *rand.Rand)) float64 {
	var rates []float64
	for range rounds {
		var n atomic.Int64
		var wg sync.WaitGroup
		stop := time.Now().Add(round)
		start := time.Now()
		for k := range clients {
			wg.Go(func() {
				c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
				defer c.CloseIdleConnections()
				r := rand.New(rand.NewPCG(uint64(k), 1))
				for time.Now().Before(stop) {
					f(c, r)
					n.Add(1)
				}
			})
		}
		wg.Wait()
		rates = append(rates, float64(n.Load())/time.Since(start).Seconds())
	}
	slices.Sort(rates)
	return rates[len(rates)/2]
}

// scan returns the median rate of reading url whole, over and over for a
// round, in MB/s of answer. The client reads 256 KiB at a time, as a
// program reading a large answer would.
func scan(url string) float64 {
	var rates []float64
	buf := make([]byte, 256<<10)
	for range rounds {
		n := int64(0)
		stop := time.Now().Add(round)
		start := time.Now()
		for time.Now().Before(stop) {
			resp, err := http.Get(url)
			check(err)
			if resp.StatusCode != 200 {
				log.Fatalf("GET %s: %s", url, resp.Status)
			}
			for {
				k, err := resp.Body.Read(buf)
				n += int64(k)
				if err == io.EOF {
					break
				}
				check(err)
			}
			resp.Body.Close()
		}
		rates = append(rates, float64(n)/1e6/time.Since(start).Seconds())
	}
	slices.Sort(rates)
	return rates[len(rates)/2]
}

func post(c *http.Client, url string, body []byte) {
	resp, err := c.Post(url, "", bytes.NewReader(body))
	check(err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		log.Fatalf("POST %s: %s", url, resp.Status)
	}
}

func fetch(c *http.Client, url string) {
	resp, err := c.Get(url)
	check(err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		log.Fatalf("GET %s: %s", url, resp.Status)
	}
}

func ratio(what string, got, base float64, unit string, target float64) {
	mark := "ok"
	if got/base < target {
		mark = "BELOW"
	}
	fmt.Printf("%-40s %10.0f %s   baseline %10.0f   %.2f (target >= %.1f) %s\n", what, got, unit, base, got/base, target, mark)
}
