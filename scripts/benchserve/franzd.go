package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/franzfs/franzfs/franzd"
	"github.com/franzfs/franzfs/store"
)

// franzd's protocol against the daemon's HTTP read path, on the stream of
// FRANZD.md section 11: a million records of 99 B with an index time.

const franzdRecords = 1_000_000

// benchFranzd prints the first query on a fresh daemon, the whole stream,
// and the latency from an append to a waiting franz client.
func benchFranzd(dir string) {
	live := filepath.Join(dir, "franzd")
	w, err := store.OpenWriter(filepath.Join(live, "big"), store.WriterOptions{Create: true, Indices: []string{store.TimeIndex}})
	check(err)
	payload := []byte(strings.Repeat("z", 98) + "\n")
	recs := make([]store.Record, 10_000)
	for i := range recs {
		recs[i] = store.Record{Payload: payload, Index: []int64{store.Now}}
	}
	for range franzdRecords / len(recs) {
		_, err := w.AppendBatch(recs)
		check(err)
	}
	fmt.Printf("\n== franzd's protocol vs the HTTP read path: %d records of %d B (median of 9 where repeated)\n", franzdRecords, len(payload))
	ctx := context.Background()

	// The first query of a fresh daemon opens the stream.
	d, addr := startFranzd(live)
	start := time.Now()
	c, err := franzd.Dial(ctx, addr, "")
	check(err)
	resp, err := c.Query(ctx, franzd.Query{Stream: "big", From: franzd.BySeqNum(-1), To: franzd.BySeqNum(-1)})
	check(err)
	resp.Close()
	firstFranzd := time.Since(start)
	rss := vmRSS(d.cmd.Process.Pid)
	d.stop()
	d, _ = startFranzd(live)
	firstHTTP := get(d.url + "/streams/big/seq/-1")
	d.stop()
	fmt.Printf("%-44s %10s   RSS %s   (franzd 0.5.3: 4.7-8.9 s, 386 MB)\n", "first query, franzd protocol (last record)", firstFranzd.Round(time.Microsecond), rss)
	fmt.Printf("%-44s %10s\n", "first query, HTTP GET seq/-1", firstHTTP.Round(time.Microsecond))

	// The whole stream, both ways, interleaved.
	d, addr = startFranzd(live)
	defer d.stop()
	c, err = franzd.Dial(ctx, addr, "")
	check(err)
	defer c.Close()
	var viaFranzd, viaRecords, viaHTTP, viaFramed, viaFiles []time.Duration
	whole := franzd.Query{Stream: "big", From: franzd.BySeqNum(0), To: franzd.BySeqNum(-1)}
	for range 9 {
		start := time.Now()
		resp, err := c.Query(ctx, whole)
		check(err)
		n, err := resp.WriteTo(io.Discard)
		check(err)
		if resp.Records() != franzdRecords || n != franzdRecords*int64(len(payload)) {
			log.Fatalf("franzd answered %d records, %d bytes", resp.Records(), n)
		}
		viaFranzd = append(viaFranzd, time.Since(start))

		start = time.Now()
		resp, err = c.Query(ctx, whole)
		check(err)
		for {
			if _, err := resp.Next(); err != nil {
				break
			}
		}
		viaRecords = append(viaRecords, time.Since(start))
		viaHTTP = append(viaHTTP, get(d.url+"/streams/big/seq/0:"))
		viaFiles = append(viaFiles, get(d.url+"/streams/big/offsets")+get(d.url+"/streams/big/payloads"))
		viaFramed = append(viaFramed, get(d.url+"/streams/big/seq/0:?format=framed"))
	}
	f, r, h, hf, hb := median(viaFranzd), median(viaRecords), median(viaHTTP), median(viaFramed), median(viaFiles)
	// franzd's answer holds the offsets rows too: 115 MB for HTTP's 99 MB.
	franzdMB := float64(franzdRecords*(int64(len(payload))+16)) / 1e6
	rawMB, framedMB := float64(franzdRecords*int64(len(payload)))/1e6, float64(franzdRecords*(int64(len(payload))+8))/1e6
	fmt.Printf("%-44s %8s %6.0f MB/s   %.2fx HTTP's rate for the same bytes (target >= 1.0); the records %.2fx as fast as seq/0:, %.2fx ?format=framed\n", "whole stream, franzd (0 .. -1, rows too)", f.Round(time.Millisecond), franzdMB/f.Seconds(), hb.Seconds()/f.Seconds(), h.Seconds()/f.Seconds(), hf.Seconds()/f.Seconds())
	fmt.Printf("%-44s %8s            the records %.2fx as fast as seq/0:\n", "  the same, split into records by the client", r.Round(time.Millisecond), h.Seconds()/r.Seconds())
	fmt.Printf("%-44s %8s %6.0f MB/s\n", "the same bytes, HTTP GET offsets and payloads", hb.Round(time.Millisecond), franzdMB/hb.Seconds())
	fmt.Printf("%-44s %8s %6.0f MB/s\n", "whole stream, HTTP GET seq/0:", h.Round(time.Millisecond), rawMB/h.Seconds())
	fmt.Printf("%-44s %8s %6.0f MB/s\n", "whole stream, HTTP ?format=framed", hf.Round(time.Millisecond), framedMB/hf.Seconds())

	// An append, to the Response of a client that waits for it. The pause
	// gives the query time to arrive; a sample counts only if the server
	// did make it wait (ResponseWait came first).
	var lat []time.Duration
	early := 0
	for i := range 1000 {
		next := int64(franzdRecords + i)
		type answer struct {
			at     time.Time
			waited bool
		}
		done := make(chan answer)
		go func() {
			resp, err := c.Query(ctx, franzd.Query{Stream: "big", From: franzd.BySeqNum(next), To: franzd.BySeqNum(next)})
			check(err)
			resp.Close()
			done <- answer{time.Now(), resp.Waited}
		}()
		time.Sleep(2 * time.Millisecond)
		start := time.Now()
		_, err := w.Append(store.Record{Payload: payload, Index: []int64{store.Now}})
		check(err)
		check(w.Flush())
		if a := <-done; a.waited {
			lat = append(lat, a.at.Sub(start))
		} else {
			early++
		}
	}
	check(w.Close())
	slices.Sort(lat)
	fmt.Printf("%-44s p50 %8s  p99 %8s (target p99 < 10ms; %d samples, %d left out: the append came first)\n", "follow: append to a waiting franz client",
		lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)*99/100].Round(time.Microsecond), len(lat), early)
}

// startFranzd starts franzfs serve with HTTP and franzd's protocol.
func startFranzd(live string) (*served, string) {
	cmd := exec.Command(*franzfs, "serve", "--live", live, "--listen", "127.0.0.1:0", "--franzd", "127.0.0.1:0")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	check(err)
	check(cmd.Start())
	r := bufio.NewReader(out)
	ready, err1 := r.ReadString('\n')
	fz, err2 := r.ReadString('\n')
	if err1 != nil || err2 != nil || !strings.HasPrefix(fz, "franzd: ") {
		log.Fatalf("serve: %q %q %v %v", ready, fz, err1, err2)
	}
	return &served{url: "http://" + strings.TrimSpace(strings.TrimPrefix(ready, "ready: ")), cmd: cmd}, strings.TrimSpace(strings.TrimPrefix(fz, "franzd: "))
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// vmRSS is a process's resident memory, as /proc says.
func vmRSS(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	check(err)
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return "?"
}
