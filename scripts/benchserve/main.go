// Command benchserve measures franzfs serve on loopback: its request paths
// (appends, gets, multigets, framed scans, tag views) against minimal
// net/http handlers, and its ingest against NATS JetStream (Debian's
// nats-server, file storage, acknowledged publishes) and Redis XADD
// (Debian's redis-server, pipelined), all on this machine in the same run,
// and prints the figures; and franzd's protocol against its HTTP read
// path. scripts/bench.sh runs it; -only paths, franzd or ingest runs a part.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
)

var (
	franzfs      = flag.String("franzfs", "franzfs", "the franzfs binary")
	only         = flag.String("only", "", "run only this part: ingest, paths or franzd")
	baselineKind = flag.String("baseline", "", "serve as a baseline handler (fixed or discard); used by paths")
)

const (
	recordSize = 100
	batch      = 1000
	batches    = 300 // 300,000 records per system
)

func main() {
	flag.Parse()
	if *baselineKind != "" {
		baseline(*baselineKind)
		return
	}
	dir, err := os.MkdirTemp("", "franzfs-benchserve-")
	check(err)
	defer os.RemoveAll(dir)
	if *only == "" || *only == "paths" {
		benchPaths(dir)
	}
	if *only == "" || *only == "franzd" {
		benchFranzd(dir)
	}
	if *only != "" && *only != "ingest" {
		return
	}
	lines := payloadLines()

	fmt.Printf("== ingest: %d records of %d B in batches of %d, one client, acknowledged\n", batch*batches, recordSize, batch)
	franz := ingestFranz(dir, lines)
	js := ingestJetStream(dir, lines)
	rd := ingestRedis(dir, lines)
	fmt.Printf("%-40s %10.0f records/s\n", "franzfs serve --sync none (?lines)", franz)
	fmt.Printf("%-40s %10.0f records/s   franzfs %.2fx (target >= 1.0)\n", "NATS JetStream (file, async publish)", js, franz/js)
	fmt.Printf("%-40s %10.0f records/s   franzfs %.2fx (target >= 1.0)\n", "Redis XADD (pipelined)", rd, franz/rd)

	fmt.Println("\n== single-record requests, one client (2,000 each)")
	for _, mode := range []string{"none", "batch"} {
		d := startServe(filepath.Join(dir, "lat-"+mode), "--sync", mode)
		ds := singles(d.url, 2000)
		d.stop()
		fmt.Printf("%-40s p50 %8s  p99 %8s\n", "--sync "+mode, ds[len(ds)/2].Round(time.Microsecond), ds[len(ds)*99/100].Round(time.Microsecond))
	}

	fmt.Println("\n== GET of the whole stream (best of 5): seq/0: vs the same bytes as a static file (payloads) from the same process")
	d := startServe(filepath.Join(dir, "franz"))
	static := best(5, func() time.Duration { return get(d.url + "/streams/ev/payloads") })
	view := best(5, func() time.Duration { return get(d.url + "/streams/ev/seq/0:") })
	size := getSize(d.url + "/streams/ev/seq/0:")
	d.stop()
	fmt.Printf("%-40s %8.0f MB/s\n", "GET payloads (static file)", float64(size)/1e6/static.Seconds())
	fmt.Printf("%-40s %8.0f MB/s   %.2f of static\n", "GET seq/0:", float64(size)/1e6/view.Seconds(), static.Seconds()/view.Seconds())
}

// payloadLines is one batch: batch lines of recordSize bytes, newline included.
func payloadLines() []byte {
	var b bytes.Buffer
	for i := range batch {
		line := fmt.Sprintf("record %07d ", i)
		b.WriteString(line + strings.Repeat("x", recordSize-len(line)-1) + "\n")
	}
	return b.Bytes()
}

type served struct {
	url string
	cmd *exec.Cmd
}

func startServe(live string, args ...string) *served {
	check(os.MkdirAll(live, 0o755))
	return startReady(exec.Command(*franzfs, append([]string{"serve", "--live", live, "--listen", "127.0.0.1:0"}, args...)...))
}

// startReady starts cmd and waits for its "ready: ADDR" line.
func startReady(cmd *exec.Cmd) *served {
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	check(err)
	check(cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready: ") {
		log.Fatalf("serve: %q %v", line, err)
	}
	return &served{url: "http://" + strings.TrimSpace(strings.TrimPrefix(line, "ready: ")), cmd: cmd}
}

func (s *served) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
}

func ingestFranz(dir string, lines []byte) float64 {
	d := startServe(filepath.Join(dir, "franz"))
	defer d.stop()
	start := time.Now()
	for range batches {
		resp, err := http.Post(d.url+"/streams/ev?lines", "", bytes.NewReader(lines))
		check(err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			log.Fatalf("append: %s", resp.Status)
		}
	}
	return float64(batch*batches) / time.Since(start).Seconds()
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitPort(port int) {
	for range 200 {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	log.Fatalf("nothing listens on %d", port)
}

func ingestJetStream(dir string, lines []byte) float64 {
	port := freePort()
	srv := exec.Command("nats-server", "-js", "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-sd", filepath.Join(dir, "nats"))
	check(srv.Start())
	defer func() { srv.Process.Kill(); srv.Wait() }()
	waitPort(port)
	nc, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", port))
	check(err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	check(err)
	ctx := context.Background()
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "EV", Subjects: []string{"ev"}, Storage: jetstream.FileStorage})
	check(err)
	msgs := bytes.SplitAfter(lines, []byte("\n"))
	start := time.Now()
	for range batches {
		for _, m := range msgs[:batch] {
			_, err := js.PublishAsync("ev", m)
			check(err)
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(30 * time.Second):
			log.Fatal("jetstream acks timed out")
		}
	}
	return float64(batch*batches) / time.Since(start).Seconds()
}

func ingestRedis(dir string, lines []byte) float64 {
	port := freePort()
	srv := exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no")
	check(srv.Start())
	defer func() { srv.Process.Kill(); srv.Wait() }()
	waitPort(port)
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	defer rdb.Close()
	ctx := context.Background()
	msgs := bytes.SplitAfter(lines, []byte("\n"))
	start := time.Now()
	for range batches {
		pipe := rdb.Pipeline()
		for _, m := range msgs[:batch] {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: "ev", Values: []any{"p", m}})
		}
		_, err := pipe.Exec(ctx)
		check(err)
	}
	return float64(batch*batches) / time.Since(start).Seconds()
}

func singles(url string, n int) []time.Duration {
	ds := make([]time.Duration, 0, n)
	payload := bytes.Repeat([]byte("y"), recordSize)
	for range n {
		start := time.Now()
		resp, err := http.Post(url+"/streams/lat", "", bytes.NewReader(payload))
		check(err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds
}

func get(url string) time.Duration {
	start := time.Now()
	resp, err := http.Get(url)
	check(err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return time.Since(start)
}

func getSize(url string) int64 {
	resp, err := http.Get(url)
	check(err)
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return n
}

func best(n int, f func() time.Duration) time.Duration {
	d := f()
	for range n - 1 {
		d = min(d, f())
	}
	return d
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
