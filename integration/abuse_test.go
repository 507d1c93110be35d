package integration

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/franzfs/franzfs/store"
)

// fds counts the descriptors process pid holds.
func fds(t *testing.T, pid int) int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// rawRequest sends head (and body) on a new connection to the daemon and
// returns the connection, for requests no http.Client would send.
func (d *daemon) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(d.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// statusOf reads the status line of the answer on c, within a deadline.
func statusOf(t *testing.T, c net.Conn) (int, http.Header) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// The daemon bounds what a client can hold of it: body sizes (refused from
// Content-Length before reading), slow bodies, idle and excess connections,
// and metrics labels; its errors name streams as the client did.
func TestServeLimits(t *testing.T) {
	live := t.TempDir()
	d := serve(t, "--live", live, "--max-body", "1000000", "--body-timeout", "1s", "--idle-timeout", "1s", "--max-conns", "8")
	pid := d.cmd.Process.Pid

	if code, body := d.do(t, "GET", "/streams", "", ""); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("GET /streams with no streams: %d %q, want []", code, body)
	}

	// A 2 GB body is refused from its Content-Length, before it is sent.
	c := d.dial(t)
	fmt.Fprintf(c, "POST /streams/big HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000000\r\n\r\n")
	if code, _ := statusOf(t, c); code != 413 {
		t.Errorf("a 2 GB Content-Length: %d, want 413 at once", code)
	}

	// A body sent a byte at a time ends in 408 once --body-timeout passes.
	c = d.dial(t)
	fmt.Fprintf(c, "POST /streams/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx")
	if code, _ := statusOf(t, c); code != 408 {
		t.Errorf("a slow body: %d, want 408", code)
	}

	// An idle keep-alive connection is closed after --idle-timeout.
	c = d.dial(t)
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if code, _ := statusOf(t, c); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil || strings.Contains(err.Error(), "timeout") {
		t.Errorf("an idle connection was not closed: %d %v", n, err)
	}

	// Past --max-conns, idle connections make way: 50 held open cost no
	// more than 8, and the daemon still answers.
	before := fds(t, pid)
	for range 50 {
		c := d.dial(t)
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		statusOf(t, c)
	}
	// 8 for connections, 2 for whatever else the runtime may open meanwhile.
	if after := fds(t, pid); after > before+8+2 {
		t.Errorf("50 idle connections hold %d descriptors more, want at most 10", after-before)
	}
	if code, _ := d.do(t, "GET", "/healthz", "", ""); code != 200 {
		t.Errorf("healthz with idle connections held: %d", code)
	}

	// Requests for made-up streams do not grow the metrics.
	for i := range 200 {
		d.do(t, "GET", fmt.Sprintf("/streams/nosuch%d/seq/0", i), "", "")
	}
	if _, metrics := d.do(t, "GET", "/metrics", "", ""); strings.Contains(metrics, "nosuch") {
		t.Errorf("metrics name streams that do not exist")
	}

	// Errors name streams as the client did, never the server's paths.
	d.do(t, "POST", "/streams/app/events", "", "x")
	for _, p := range []string{"/streams/app/evnts", "/streams/app/evnts/seq/0", "/streams/app/events/seq/99"} {
		code, body := d.do(t, "GET", p, "", "")
		if code != 404 || strings.Contains(body, live) || !strings.Contains(body, "stream app/ev") {
			t.Errorf("GET %s: %d %q, want 404 naming the stream as asked", p, code, body)
		}
	}
	if code, body := d.do(t, "GET", "/streams/app/evnts", "", ""); !strings.Contains(body, "stream app/evnts: not found") {
		t.Errorf("GET /streams/app/evnts: %d %q", code, body)
	}
}

// 20,000 keep-alive connections, each left idle after a 401, cost the
// daemon no more descriptors than --max-conns and no more memory than the
// first 6,000 did, and a new client is still answered.
func TestServeManyIdleConnections(t *testing.T) {
	const maxConns = 1024
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	os.WriteFile(token, []byte("s3cret\n"), 0o600)
	d := serve(t, "--live", t.TempDir(), "--token-file", token)
	pid := d.cmd.Process.Pid
	before := fds(t, pid)
	// The binary is built with -race, whose shadow memory is outside Go's
	// figures and grows with every goroutine ever run: compare Go's own.
	var full float64 // memory Go holds once connections come and go past --max-conns
	total := 0
	// A helper process each: ulimit -n may be as low as 20,000.
	for i, n := range []int{6000, 6000, 4000, 4000} {
		h := exec.Command(os.Args[0])
		h.Env = append(os.Environ(), "FRANZFS_TEST_HOLD_CONNS="+strings.TrimPrefix(d.url, "http://"), fmt.Sprintf("FRANZFS_TEST_CONNS=%d", n))
		h.Stderr = os.Stderr
		hold, _ := h.StdinPipe() // closed at the end: the helper lets go
		out, _ := h.StdoutPipe()
		if err := h.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { hold.Close(); h.Wait() })
		if line, err := bufio.NewReader(out).ReadString('\n'); line != "held\n" {
			t.Fatalf("a helper holding %d connections: %q %v", n, line, err)
		}
		total += n
		// The connections dropped to make room may not all be closed the
		// moment the last answer leaves: wait for the bound.
		waitFor(t, "the daemon's descriptors within --max-conns", 30*time.Second, func() bool {
			return fds(t, pid) <= before+maxConns+8
		})
		if i == 0 {
			full = goMetric(t, d, "go_memstats_sys_bytes")
		}
	}
	// A new client is answered; the metrics are its answer.
	sys, goroutines := goMetric(t, d, "go_memstats_sys_bytes"), goMetric(t, d, "go_goroutines")
	t.Logf("%d idle connections: %d descriptors more, %.0f goroutines; Go holds %.0f MiB, %.0f MiB after the first 6,000",
		total, fds(t, pid)-before, goroutines, sys/(1<<20), full/(1<<20))
	if sys > full*1.25 {
		t.Errorf("Go's memory grew from %.0f MiB at 6,000 idle connections to %.0f MiB at %d", full/(1<<20), sys/(1<<20), total)
	}
	if goroutines > maxConns+64 {
		t.Errorf("%.0f goroutines with --max-conns %d", goroutines, maxConns)
	}
}

// goMetric reads one of the Go runtime's figures from the daemon's
// /metrics, with the token of TestServeManyIdleConnections.
func goMetric(t *testing.T, d *daemon, name string) float64 {
	t.Helper()
	req, _ := http.NewRequest("GET", d.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("a new client: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("a new client: %d %s", resp.StatusCode, body)
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

// holdConns opens FRANZFS_TEST_CONNS connections to addr, 8 at a time,
// each asking without a token for a 401 and then left idle; it says
// "held" and keeps them until its standard input closes.
func holdConns(addr string) {
	n, _ := strconv.Atoi(os.Getenv("FRANZFS_TEST_CONNS"))
	var mu sync.Mutex
	var held []net.Conn
	var wg sync.WaitGroup
	var failed atomic.Value
	const dialers = 8
	for range dialers {
		wg.Go(func() {
			for range n / dialers {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					failed.Store(err)
					return
				}
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
				fmt.Fprintf(c, "GET /streams HTTP/1.1\r\nHost: x\r\n\r\n")
				c.SetReadDeadline(time.Now().Add(time.Minute))
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					failed.Store(fmt.Errorf("a new connection got no answer: %w", err))
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 401 {
					failed.Store(fmt.Errorf("no token: %d, want 401", resp.StatusCode))
					return
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("held")
	io.Copy(io.Discard, os.Stdin)
}

// The token is taken with its scheme in any case; a 401 says which scheme;
// a token file others may read is refused; a unix socket path holding
// anything but a stale socket is kept.
func TestServeTokenAndSocket(t *testing.T) {
	live, dir := t.TempDir(), t.TempDir()
	open := filepath.Join(dir, "open-token")
	os.WriteFile(open, []byte("s3cret\n"), 0o644)
	wantError(t, exec.Command(franzfs, "serve", "--live", live, "--token-file", open), 6, "chmod 600 "+open)

	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600)
	d := serve(t, "--live", live, "--token-file", tokenFile)
	req, _ := http.NewRequest("GET", d.url+"/streams", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("no token: %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	req.Header.Set("Authorization", "bearer s3cret")
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("scheme in lower case: %v %v", resp, err)
	}
	resp.Body.Close()

	precious := filepath.Join(dir, "precious")
	os.WriteFile(precious, []byte("keep me"), 0o600)
	wantError(t, exec.Command(franzfs, "serve", "--live", live, "--unix", precious), 5, "is not a socket")
	if data, _ := os.ReadFile(precious); string(data) != "keep me" {
		t.Errorf("serve --unix removed or changed a regular file: %q", data)
	}
}

// A full disk answers 507, and what was acknowledged before stays.
func TestServeDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	live := t.TempDir()
	if err := syscall.Mount("tmpfs", live, "tmpfs", 0, "size=256k"); err != nil {
		t.Skipf("no tmpfs: %v", err)
	}
	defer syscall.Unmount(live, syscall.MNT_DETACH)
	d := serve(t, "--live", live)
	record := strings.Repeat("z", 10000) + "\n"
	acked, code := 0, 0
	for range 100 {
		if code, _ = d.do(t, "POST", "/streams/full", "", record); code != 200 {
			break
		}
		acked++
	}
	if code != 507 {
		t.Errorf("append on a full disk: %d, want 507", code)
	}
	// A stream made on a full disk is made whole (empty), or not at all.
	if code, body := d.do(t, "POST", "/streams/more/new", "", record); code != 507 {
		t.Errorf("a new stream on a full disk: %d %q, want 507", code, body)
	}
	if fileExists(filepath.Join(live, "more")) {
		if got := run(t, "", "check", filepath.Join(live, "more/new")); !strings.Contains(got, ": 0 records") {
			t.Errorf("what a failed append left: %q", got)
		}
	}
	if code, body := d.do(t, "GET", "/streams/full/seq/0:", "", ""); code != 200 || body != strings.Repeat(record, acked) {
		t.Errorf("after the disk filled: %d, %d bytes, want the %d acknowledged records", code, len(body), acked)
	}
}

// A stream's index count is bounded: a request naming more is refused, a
// stream on disk with more is an error naming it; times past what int64
// nanoseconds hold are bad values, not wrapped around.
func TestIndexLimits(t *testing.T) {
	live := t.TempDir()
	d := serve(t, "--live", live)
	record := func(n int) string {
		var b strings.Builder
		b.WriteString(`{"text":"x","index":{`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"i%d":%d`, i, i)
		}
		b.WriteString("}}\n")
		return b.String()
	}
	if code, body := d.do(t, "POST", "/streams/wide", "application/x-ndjson", record(255)); code != 200 {
		t.Errorf("a record naming 255 indices and time: %d %q", code, body)
	}
	if code, body := d.do(t, "POST", "/streams/wider", "application/x-ndjson", record(60000)); code != 400 || !strings.Contains(body, "more than 256 indices") {
		t.Errorf("a record naming 60,000 indices: %d %q, want 400", code, body)
	}
	if fileExists(filepath.Join(live, "wider")) {
		t.Errorf("a refused stream was made")
	}
	for _, q := range []string{"index.time=2300-01-01T00:00:00Z", "index.time=1600-01-01T00:00:00Z"} {
		if code, body := d.do(t, "POST", "/streams/t?"+q, "", "x"); code != 400 || !strings.Contains(body, "from 1677 to 2262") {
			t.Errorf("POST ?%s: %d %q, want 400", q, code, body)
		}
	}
	if code, body := d.do(t, "GET", "/streams/wide/index/time/2300-01-01T00:00:00Z:", "", ""); code != 400 {
		t.Errorf("a view from 2300: %d %q, want 400", code, body)
	}

	// A stream on disk with 300 index names.
	dir := filepath.Join(live, "many")
	os.MkdirAll(dir, 0o755)
	var names strings.Builder
	for i := range 300 {
		fmt.Fprintf(&names, "i%d\n", i)
	}
	os.WriteFile(filepath.Join(dir, "indices"), []byte(names.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "offsets"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "payloads"), nil, 0o644)
	wantError(t, exec.Command(franzfs, "read", dir), 4, "300 index names, more than the 256 franzfs reads")
	if code, body := d.do(t, "GET", "/streams/many/seq/0:", "", ""); code != 500 || !strings.Contains(body, "300 index names") || strings.Contains(body, live) {
		t.Errorf("GET of a stream of 300 indices: %d %q", code, body)
	}
}

// Many tags and many streams cost a bounded number of descriptors, and
// other requests keep working: idle writers and clean tag files close.
func TestServeDescriptorsBounded(t *testing.T) {
	live := t.TempDir()
	d := serve(t, "--live", live, "--max-writers", "16", "--sync", "batch")
	pid := d.cmd.Process.Pid
	d.do(t, "POST", "/streams/warm", "", "x")
	before := fds(t, pid)
	batch := func(from, n int) string {
		var b strings.Builder
		for i := from; i < from+n; i++ {
			fmt.Fprintf(&b, `{"text":"r%d","tags":["t%d"]}`+"\n", i, i)
		}
		return b.String()
	}
	for r := range 4 {
		if code, body := d.do(t, "POST", "/streams/tagged", "application/x-ndjson", batch(r*1000, 1000)); code != 200 {
			t.Fatalf("1,000 distinct tags: %d %q", code, body)
		}
	}
	for i := range 300 {
		if code, body := d.do(t, "POST", fmt.Sprintf("/streams/many/s%d", i), "", "x"); code != 200 {
			t.Fatalf("stream %d: %d %q", i, code, body)
		}
	}
	// A writer holds 4: its directory, lock, payloads and offsets; and at
	// most 16 writers are open. The rest is slack for connections.
	if after := fds(t, pid); after > before+16*4+40 {
		t.Errorf("4,000 tags and 300 streams: %d descriptors more, want at most %d", after-before, 16*4+40)
	}
	if code, body := d.do(t, "GET", "/streams/tagged/tag/t3999", "", ""); code != 200 || body != "r3999" {
		t.Errorf("tag t3999: %d %q", code, body)
	}
	if code, body := d.do(t, "POST", "/streams/tagged", "application/x-ndjson", batch(5000, 1100)); code != 400 || !strings.Contains(body, "more than 1024 distinct tags") {
		t.Errorf("1,100 distinct tags in a request: %d %q, want 400", code, body)
	}
	tags := strings.Repeat(`"x",`, 64) + `"y"`
	if code, body := d.do(t, "POST", "/streams/tagged", "application/x-ndjson", `{"text":"z","tags":[`+tags+`]}`); code != 400 || !strings.Contains(body, "65 tags, more than 64") {
		t.Errorf("65 tags on a record: %d %q, want 400", code, body)
	}
}

// writeStream lays out a stream by hand: indices, payloads and offsets.
func writeStream(t *testing.T, dir, indices, payloads string, offsets ...int64) {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	var words []byte
	for _, w := range offsets {
		words = binary.LittleEndian.AppendUint64(words, uint64(w))
	}
	for name, data := range map[string][]byte{"indices": []byte(indices), "payloads": []byte(payloads), "offsets": words} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// check says a stream is damaged (exit 4) whenever read would refuse it,
// info never prints an impossible figure, and read and check stop on
// SIGTERM however long the stream.
func TestCLIHostileStreams(t *testing.T) {
	live := t.TempDir()
	writeStream(t, filepath.Join(live, "backwards"), "n\n", "0123456789", 1<<62, 1, 5, 2)
	writeStream(t, filepath.Join(live, "negative"), "", "0123456789", -1)
	writeStream(t, filepath.Join(live, "tagsfile"), "", "ab", 1, 2)
	os.WriteFile(filepath.Join(live, "tagsfile", "tags"), []byte("x"), 0o644)
	for _, c := range []struct {
		stream string
		msg    string
	}{
		{"backwards", "past the 10 bytes of payloads"},
		{"negative", "ends at byte -1"},
		{"tagsfile", "tags is a regular file"},
	} {
		p := filepath.Join(live, c.stream)
		wantError(t, exec.Command(franzfs, "check", p), 4, c.msg)
		if c.stream != "tagsfile" { // all records read no tag
			wantError(t, exec.Command(franzfs, "read", p), 4, c.stream)
		}
	}
	wantError(t, exec.Command(franzfs, "info", filepath.Join(live, "negative")), 4, "ends at byte -1")

	// 1 TB of offsets, all holes: 137 billion empty records.
	huge := filepath.Join(live, "huge")
	writeStream(t, huge, "", "")
	if err := os.Truncate(filepath.Join(huge, "offsets"), 1<<40); err != nil {
		t.Skipf("no sparse 1 TB file here: %v", err)
	}
	for _, args := range [][]string{{"check", huge}, {"read", huge}} {
		cmd := exec.Command(franzfs, args...)
		var stderr syncBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, args[0]+" to read offsets", 10*time.Second, func() bool { return holdsOpen(cmd.Process.Pid, filepath.Join(huge, "offsets")) })
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
			// Work cut short is not success: 128+15, as a shell reports it.
			if code := cmd.ProcessState.ExitCode(); code != 143 || stderr.String() != "franzfs: interrupted (terminated)\n" {
				t.Errorf("franzfs %s on SIGTERM: exit %d, %q; want 143 and one line", strings.Join(args, " "), code, stderr.String())
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Errorf("franzfs %s still running 20 s after SIGTERM", strings.Join(args, " "))
		}
	}
}

// archive stops on SIGTERM within a block, exits 143 and leaves no image
// and no temporary file.
func TestArchiveInterrupted(t *testing.T) {
	live, out := t.TempDir(), t.TempDir()
	big := filepath.Join(live, "big")
	writeStream(t, big, "", "", 8<<30) // one record of 8 GiB, all a hole
	if err := os.Truncate(filepath.Join(big, "payloads"), 8<<30); err != nil {
		t.Skipf("no sparse 8 GiB file here: %v", err)
	}
	cmd := exec.Command(franzfs, "archive", big, filepath.Join(out, "big.squashfs"))
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, "archive to begin writing", 20*time.Second, func() bool {
		entries, _ := os.ReadDir(out)
		return len(entries) > 0
	})
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("archive still running 20 s after SIGTERM")
	}
	if code := cmd.ProcessState.ExitCode(); code != 143 || stderr.String() != "franzfs: interrupted (terminated)\n" {
		t.Errorf("archive on SIGTERM: exit %d, %q; want 143 and one line", code, stderr.String())
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("an interrupted archive left %v", entries)
	}
}

// vmHWM is the peak resident memory of process pid, in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var n int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(kb), " kB"), &n)
			return n << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// A record of any size is served, framed or not, and read by the CLI in
// pieces: memory does not grow with it.
func TestLargeRecordMemory(t *testing.T) {
	const big, bound = 64 << 20, 32 << 20
	live := t.TempDir()
	w, err := store.OpenWriter(filepath.Join(live, "big"), store.WriterOptions{Create: true, Indices: []string{"time"}})
	if err != nil {
		t.Fatal(err)
	}
	record := bytes.Repeat([]byte("0123456789abcdef"), big/16)
	for _, p := range [][]byte{[]byte("small\n"), record, []byte("after\n")} {
		if _, err := w.Append(store.Record{Payload: p, Index: []int64{store.Now}}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	d := serve(t, "--live", live)
	d.do(t, "GET", "/streams/big/seq/0", "", "")
	before := vmHWM(t, d.cmd.Process.Pid)
	for _, q := range []string{"seq/0:2", "seq/0:2?format=json", "seq/0:2?follow", "seq/1?format=json&follow"} {
		resp, err := http.Get(d.url + "/streams/big/" + q)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n < big {
			t.Errorf("GET %s: %d bytes, %v", q, n, err)
		}
	}
	if grew := vmHWM(t, d.cmd.Process.Pid) - before; grew > bound {
		t.Errorf("serving a %d MiB record grew the daemon's peak memory by %d MiB, want under %d", big>>20, grew>>20, bound>>20)
	}
	// ?format=json holds the record, whole and right.
	resp, err := http.Get(d.url + "/streams/big/seq/1?format=json")
	if err != nil {
		t.Fatal(err)
	}
	var fr struct {
		Seq     int64  `json:"seq"`
		Payload []byte `json:"payload"`
	}
	err = json.NewDecoder(resp.Body).Decode(&fr)
	resp.Body.Close()
	if err != nil || fr.Seq != 1 || !bytes.Equal(fr.Payload, record) {
		t.Errorf("?format=json of the large record: seq %d, %d bytes, %v", fr.Seq, len(fr.Payload), err)
	}

	maxRSS := func(args ...string) int64 {
		cmd := exec.Command(franzfs, args...)
		cmd.Stdout = io.Discard
		if err := cmd.Run(); err != nil {
			t.Fatalf("franzfs %v: %v", args, err)
		}
		return cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
	}
	small := maxRSS("read", "-r", "0", filepath.Join(live, "big"))
	for _, args := range [][]string{{"read", filepath.Join(live, "big")}, {"read", "--framed", filepath.Join(live, "big")}} {
		if grew := maxRSS(args...) - small; grew > bound {
			t.Errorf("franzfs %s: peak memory %d MiB over reading one small record, want under %d", strings.Join(args[:len(args)-1], " "), grew>>20, bound>>20)
		}
	}
}

// Archiving any number of streams, of any number of tags, takes a fixed
// number of descriptors: here 300 streams, and a stream of 1,500 tags,
// under ulimit -n 256.
func TestArchiveWithinDescriptors(t *testing.T) {
	live, out := t.TempDir(), t.TempDir()
	var names []string
	for i := range 300 {
		name := fmt.Sprintf("s%03d", i)
		w, err := store.OpenWriter(filepath.Join(live, name), store.WriterOptions{Create: true, Indices: []string{"time"}})
		if err != nil {
			t.Fatal(err)
		}
		w.Append(store.Record{Payload: []byte(name + "\n"), Index: []int64{store.Now}})
		w.Close()
		names = append(names, name)
	}
	w, err := store.OpenWriter(filepath.Join(live, "tags"), store.WriterOptions{Create: true, Indices: []string{"time"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1500 {
		if _, err := w.Append(store.Record{Payload: []byte("x"), Index: []int64{store.Now}, Tags: []string{fmt.Sprintf("t%d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	for _, args := range [][]string{append(names, "many.squashfs"), {"tags", "tags.squashfs"}} {
		args[len(args)-1] = filepath.Join(out, args[len(args)-1])
		line := fmt.Sprintf("ulimit -n 256 && %s archive --verify --live %s %s", franzfs, live, strings.Join(args, " "))
		if b, err := exec.Command("sh", "-c", line).CombinedOutput(); err != nil {
			t.Errorf("archive of %d names under ulimit -n 256: %v: %s", len(args)-1, err, b)
		}
	}
	if got := run(t, "", "read", filepath.Join(out, "many.squashfs", "s299")); got != "s299\n" {
		t.Errorf("s299 from the image: %q", got)
	}
	if got := run(t, "", "info", filepath.Join(out, "tags.squashfs")); !strings.Contains(got, "tag t1499") {
		t.Errorf("info of the image of 1,500 tags: %.200q", got)
	}
}

// A read that fails after the answer began (here a damaged block deep in
// an archived stream) cuts the connection: the client sees a broken
// answer, never a 500 appended to a 200 under a stale Content-Length.
func TestServeErrorAfterHeaders(t *testing.T) {
	live, archive := t.TempDir(), t.TempDir()
	w, err := store.OpenWriter(filepath.Join(live, "ev"), store.WriterOptions{Create: true, Indices: []string{"time"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		w.Append(store.Record{Payload: fmt.Appendf(nil, "record-%04d-%s\n", i, strings.Repeat("z", 400)), Index: []int64{store.Now}})
	}
	w.Close()
	image := filepath.Join(archive, "old.squashfs")
	run(t, "", "archive", "--compression", "none", "--live", live, "ev", image)
	data, _ := os.ReadFile(image)
	at := bytes.Index(data, []byte("record-1900-"))
	if at < 0 {
		t.Fatal("record 1900 not found in the uncompressed image")
	}
	data[at] ^= 1
	os.WriteFile(image, data, 0o644)

	d := serve(t, "--live", live, "--archive", archive)
	resp, err := http.Get(d.url + "/streams/old/seq/0:")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || err == nil || int64(len(body)) >= resp.ContentLength || bytes.Contains(body, []byte("checksum")) {
		t.Errorf("a damaged block after the header: %d, %d of %d bytes, %v", resp.StatusCode, len(body), resp.ContentLength, err)
	}
	waitFor(t, "the daemon to log the failure", 10*time.Second, func() bool {
		return strings.Contains(d.log.String(), "read failed after the answer began")
	})
}
