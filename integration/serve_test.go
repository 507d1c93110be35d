package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/franzfs/franzfs/store"
)

type daemon struct {
	url    string
	franzd string // with --franzd: its address
	cmd    *exec.Cmd
	log    *syncBuffer
}

// serve starts franzfs serve on a free loopback port and waits until ready.
func serve(t *testing.T, args ...string) *daemon {
	t.Helper()
	d := &daemon{log: &syncBuffer{}}
	d.cmd = exec.Command(franzfs, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	d.cmd.Stderr = d.log
	out, _ := d.cmd.StdoutPipe()
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdout := bufio.NewReader(out)
	line, err := stdout.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready: ") {
		d.cmd.Process.Kill()
		t.Fatalf("serve not ready: %q %v: %s", line, err, d.log)
	}
	d.url = "http://" + strings.TrimSpace(strings.TrimPrefix(line, "ready: "))
	if slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--franzd") }) {
		line, err := stdout.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "franzd: ") {
			d.cmd.Process.Kill()
			t.Fatalf("serve --franzd not ready: %q %v: %s", line, err, d.log)
		}
		d.franzd = strings.TrimSpace(strings.TrimPrefix(line, "franzd: "))
	}
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Signal(syscall.SIGTERM)
			// A race the detector found makes the daemon exit 66.
			if err := d.cmd.Wait(); err != nil {
				t.Errorf("serve exited with %v: %s", err, d.log)
			}
		}
	})
	return d
}

func (d *daemon) do(t testing.TB, method, path, contentType, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, d.url+path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeAPI(t *testing.T) {
	live := t.TempDir()
	d := serve(t, "--live", live, "--max-body", "100000", "--max-record", "1000")
	const nd = "application/x-ndjson"
	// After the records stamped on arrival, whatever day the test runs.
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	steps := []struct {
		method, path, ctype, body string
		code                      int
		want                      string
	}{
		{"POST", "/streams/app/ev?tag=error&tag=db", "", "one\n", 200, `{"first":0,"count":1}`},
		{"POST", "/streams/app/ev?lines&tag=info", "", "two\nthree\nfour", 200, `{"first":1,"count":3}`},
		{"POST", "/streams/app/ev", nd, `{"text":"five\n","tags":["error"]}` + "\n" + `{"payload":"AAEC/w=="}` + "\n", 200, `{"first":4,"count":2}`},
		{"GET", "/streams/app/ev/seq/0:2", "", "", 200, "one\ntwo\nthree\n"},
		{"GET", "/streams/app/ev/seq/-1", "", "", 200, "\x00\x01\x02\xff"},
		{"GET", "/streams/app/ev/seq/2,0,2,3:4", "", "", 200, "three\none\nthree\nfourfive\n"},
		{"GET", "/streams/app/ev/seq/0,9", "", "", 404, "seq/9 of 6 records"},
		{"GET", "/streams/app/ev/tag/error", "", "", 200, "one\nfive\n"},
		{"GET", "/streams/app/ev/query/error+db", "", "", 200, "one\n"},
		{"GET", "/streams/app/ev/index/time/-1h:", "", "", 200, "one\ntwo\nthree\nfourfive\n\x00\x01\x02\xff"},
		{"GET", "/streams/app/ev/seq/0?format=json", "", "", 200, `"seq":0`},
		{"GET", "/streams/app/ev/stat.json", "", "", 200, `"records": 6`},
		{"GET", "/streams/app/ev", "", "", 200, `"records": 6`},
		{"GET", "/streams", "", "", 200, `"name": "app/ev"`},
		{"POST", "/streams/nums?index.n=5", "", "x", 200, `{"first":0,"count":1}`},
		{"POST", "/streams/nums", nd, `{"text":"y","index":{"n":7,"time":"` + later + `"}}`, 200, `{"first":1,"count":1}`},
		{"GET", "/streams/nums/index/n/6:", "", "", 200, "y"},
		{"GET", "/healthz", "", "", 200, "ok"},
		{"GET", "/metrics", "", "", 200, `franzfs_appended_records_total{stream="app/ev"} 6`},
		{"DELETE", "/streams/nums", "", "", 204, ""},
		{"GET", "/streams/nums/seq/0", "", "", 404, "not found"},
	}
	for _, s := range steps {
		code, body := d.do(t, s.method, s.path, s.ctype, s.body)
		if code != s.code || !strings.Contains(body, s.want) {
			t.Errorf("%s %s: %d %q, want %d with %q", s.method, s.path, code, body, s.code, s.want)
		}
	}
	// Every view served equals what the stream holds.
	s, err := store.OpenDir(filepath.Join(live, "app", "ev"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, view := range []string{"payloads", "offsets", "indices", "seq/1:3", "tag/info"} {
		_, body := d.do(t, "GET", "/streams/app/ev/"+view, "", "")
		p, _ := store.ParsePath(view)
		var want []byte
		if p.Kind == store.KindFile {
			f, _ := s.File(view)
			fi, _ := f.Stat()
			want = make([]byte, fi.Size())
			f.ReadAt(want, 0)
			f.Close()
		} else {
			v, _ := s.View(p)
			n, _ := v.Size()
			want = make([]byte, n)
			v.ReadAt(want, 0)
		}
		if body != string(want) {
			t.Errorf("GET %s differs from the stream", view)
		}
	}
}

// Every bad request is a 4xx with a one-line reason, and writes nothing.
func TestServeBadRequests(t *testing.T) {
	live := t.TempDir()
	d := serve(t, "--live", live, "--max-body", "100000", "--max-record", "1000")
	d.do(t, "POST", "/streams/s?index.n=5", "", "first")
	cases := []struct {
		path, ctype, body string
		code              int
		msg               string
	}{
		{"/streams/.hidden", "", "x", 400, "starts with '.'"},
		{"/streams/a//b", "", "x", 400, "empty, . or .. component"},
		{"/streams/a/../b", "", "x", 400, "empty, . or .. component"},
		{"/streams/s?tag=a%20b", "", "x", 400, `tag "a b"`},
		{"/streams/s?index.n=4", "", "x", 400, "less than the previous 5"},
		{"/streams/s", "", "x", 400, "no value of index n"},
		{"/streams/s?index.n=6&index.m=1", "", "x", 400, "no index m"},
		{"/streams/s?index.n=x", "", "x", 400, "not an integer"},
		{"/streams/s?bogus=1", "", "x", 400, "unknown parameter"},
		{"/streams/s", "application/x-ndjson", `{"text":"a","index":{"n":6}}` + "\nnot json\n", 400, "batch line 2"},
		{"/streams/s", "application/x-ndjson", `{"text":"a","index":{"n":6},"extra":1}`, 400, "batch line 1"},
		{"/streams/s", "application/x-ndjson", `{"text":"a","payload":"AA==","index":{"n":6}}`, 400, "both payload and text"},
		{"/streams/s?index.n=6", "", strings.Repeat("x", 1001), 413, "record too large"},
		{"/streams/s?index.n=6", "", strings.Repeat("x", 100001), 413, "too large"},
	}
	for _, c := range cases {
		code, body := d.do(t, "POST", c.path, c.ctype, c.body)
		if code != c.code || !strings.Contains(body, c.msg) || strings.Count(body, "\n") != 1 {
			t.Errorf("POST %s: %d %q, want %d with %q on one line", c.path, code, body, c.code, c.msg)
		}
	}
	for _, p := range []string{"/streams/s/seq/x", "/streams/s/seq/5:2", "/streams/s/nosuch"} {
		if code, _ := d.do(t, "GET", p, "", ""); code/100 != 4 {
			t.Errorf("GET %s: %d", p, code)
		}
	}
	if code, body := d.do(t, "GET", "/streams/s/seq/0:", "", ""); code != 200 || body != "first" {
		t.Errorf("after bad requests the stream holds %q", body)
	}
}

// 16 clients append 10,000 records each, one request a record: every
// record is there once, and each client's records are in its order.
func TestServeConcurrentClients(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	live := t.TempDir()
	d := serve(t, "--live", live, "--sync", "batch")
	const clients, each = 16, 10_000
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			for i := range each {
				resp, err := client.Post(fmt.Sprintf("%s/streams/ev?tag=c%d", d.url, c), "", strings.NewReader(fmt.Sprintf("%d %d\n", c, i)))
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("client %d record %d: %s", c, i, resp.Status)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s, err := store.OpenDir(filepath.Join(live, "ev"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, _ := s.Count(); n != clients*each {
		t.Fatalf("%d records, want %d", n, clients*each)
	}
	next := make([]int, clients)
	v, _ := s.View(store.Path{Kind: store.KindRange})
	v.Size()
	v.Scan(0, func(rec int64, p *store.Payload) error {
		var c, i int
		fmt.Sscanf(string(p.Inline()), "%d %d", &c, &i)
		if i != next[c] {
			t.Fatalf("record %d: client %d's record %d, want %d", rec, c, i, next[c])
		}
		next[c]++
		return nil
	})
	if n, _ := s.TagCount("c7"); n != each {
		t.Errorf("tag c7: %d", n)
	}
}

// A follow reader sees every record a concurrent writer appends, in order.
func TestServeFollow(t *testing.T) {
	live := t.TempDir()
	d := serve(t, "--live", live)
	d.do(t, "POST", "/streams/ev", "", "start\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", d.url+"/streams/ev/follow", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	const n = 2000
	go func() {
		for i := range n {
			d.do(t, "POST", "/streams/ev", "", fmt.Sprintf("r%d\n", i))
		}
	}()
	sc := bufio.NewScanner(resp.Body)
	for i := range n {
		if !sc.Scan() {
			t.Fatalf("follow ended after %d records: %v", i, sc.Err())
		}
		if sc.Text() != fmt.Sprintf("r%d", i) {
			t.Fatalf("follow: record %d is %q", i, sc.Text())
		}
	}
}

// SIGKILL under load with --sync always, 20 times: every acknowledged
// record is there after restart, and the stream checks clean.
func TestServeKilledUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	live := t.TempDir()
	acked := map[string]bool{}
	var mu sync.Mutex
	for round := range 20 {
		d := serve(t, "--live", live, "--sync", "always")
		var wg sync.WaitGroup
		for c := range 4 {
			wg.Go(func() {
				for i := 0; ; i++ {
					body := fmt.Sprintf("round %d client %d record %d\n", round, c, i)
					resp, err := http.Post(d.url+"/streams/ev", "", strings.NewReader(body))
					if err != nil {
						return // killed
					}
					var ans struct{ First int64 }
					err = json.NewDecoder(resp.Body).Decode(&ans)
					resp.Body.Close()
					if err != nil || resp.StatusCode != 200 {
						return
					}
					mu.Lock()
					acked[body] = true
					mu.Unlock()
				}
			})
		}
		time.Sleep(time.Duration(50+round*7) * time.Millisecond)
		d.cmd.Process.Kill()
		d.cmd.Wait()
		wg.Wait()
	}
	checkAcknowledged(t, filepath.Join(live, "ev"), acked, false)
	t.Logf("%d acknowledged records over 20 kills, all there", len(acked))
}

// checkAcknowledged verifies that the stream in dir checks clean and holds
// every acknowledged record; after a clean shutdown, with no trace of an
// unfinished write either.
func checkAcknowledged(t *testing.T, dir string, acked map[string]bool, clean bool) {
	t.Helper()
	s, err := store.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if r, err := s.Check(); err != nil || !r.OK() || (clean && len(r.Notes) != 0) {
		t.Fatalf("check: %+v, %v", r, err)
	}
	found := map[string]bool{}
	v, _ := s.View(store.Path{Kind: store.KindRange})
	v.Size()
	v.Scan(0, func(_ int64, p *store.Payload) error { found[string(p.Inline())] = true; return nil })
	for body := range acked {
		if !found[body] {
			t.Fatalf("acknowledged %q lost", body)
		}
	}
}

// The unix socket, the bearer token, the refusal to listen beyond loopback
// without one, fsync metrics, and exit 0 on SIGTERM.
func TestServeSafety(t *testing.T) {
	live := t.TempDir()
	if out, err := exec.Command(franzfs, "serve", "--live", live, "--listen", "0.0.0.0:0").CombinedOutput(); err == nil || !strings.Contains(string(out), "give --token-file") {
		t.Errorf("listened beyond loopback without a token: %v %s", err, out)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600)
	d := serve(t, "--live", live, "--token-file", tokenFile, "--sync", "always")
	if code, body := d.do(t, "POST", "/streams/ev", "", "x"); code != 401 || !strings.Contains(body, "bearer token") {
		t.Errorf("no token: %d %q", code, body)
	}
	req, _ := http.NewRequest("POST", d.url+"/streams/ev", strings.NewReader("x"))
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("with token: %v %v", resp, err)
	}
	resp.Body.Close()
	req, _ = http.NewRequest("GET", d.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, _ = http.DefaultClient.Do(req)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `franzfs_fsyncs_total{stream="ev"}`) {
		t.Errorf("no fsync metric")
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	if err := d.cmd.Wait(); err != nil {
		t.Errorf("exit on SIGTERM: %v: %s", err, d.log)
	}

	sock := filepath.Join(t.TempDir(), "franzfs.sock")
	cmd := exec.Command(franzfs, "serve", "--live", live, "--unix", sock)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	bufio.NewReader(out).ReadString('\n')
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err = client.Get("http://unix/streams/ev/seq/0:")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "x" {
		t.Errorf("over the unix socket: %q", body)
	}
}

// read --server --follow prints a range and then records as they arrive.
func TestServeReadFollow(t *testing.T) {
	live := t.TempDir()
	d := serve(t, "--live", live)
	for i := range 3 {
		d.do(t, "POST", "/streams/ev", "", fmt.Sprintf("r%d\n", i))
	}
	cmd := exec.Command(franzfs, "read", "--server", d.url, "--follow", "-r", "1:", "ev")
	var out syncBuffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, "the range", 5*time.Second, func() bool { return out.String() == "r1\nr2\n" })
	d.do(t, "POST", "/streams/ev", "", "r3\n")
	waitFor(t, "a followed record", 5*time.Second, func() bool { return out.String() == "r1\nr2\nr3\n" })
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("read --follow on Ctrl-C: %v", err)
	}
	// A range that is complete ends by itself.
	if got := run(t, "", "read", "--server", d.url, "--follow", "-r", "0:1", "ev"); got != "r0\nr1\n" {
		t.Errorf("complete range with --follow: %q", got)
	}
}

// Archived streams are served read-only beside live ones.
func TestServeArchived(t *testing.T) {
	live, arch := t.TempDir(), t.TempDir()
	newEvents(t, filepath.Join(live, "ev"), 12)
	run(t, "", "archive", "--live", live, "ev", filepath.Join(arch, "old.squashfs"))
	d := serve(t, "--live", live, "--archive", arch)
	if code, body := d.do(t, "GET", "/streams", "", ""); code != 200 || !strings.Contains(body, `"name": "old",
    "archived": true`) {
		t.Errorf("list: %d %s", code, body)
	}
	for _, v := range []string{"seq/2:5", "tag/even", "index/time/3000:6000", "payloads"} {
		_, a := d.do(t, "GET", "/streams/old/"+v, "", "")
		_, b := d.do(t, "GET", "/streams/ev/"+v, "", "")
		if a != b || a == "" {
			t.Errorf("archived %s differs from live", v)
		}
	}
	if code, body := d.do(t, "POST", "/streams/old", "", "x"); code != 409 || !strings.Contains(body, "archived") {
		t.Errorf("append to an archive: %d %q", code, body)
	}
}

// SIGTERM under load: appends in flight are answered, the daemon exits 0,
// and every acknowledged record is there.
func TestServeTermUnderLoad(t *testing.T) {
	live := t.TempDir()
	d := serve(t, "--live", live, "--sync", "batch")
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				body := fmt.Sprintf("client %d record %d\n", c, i)
				resp, err := http.Post(d.url+"/streams/ev", "", strings.NewReader(body))
				if err != nil {
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					return
				}
				mu.Lock()
				acked[body] = true
				mu.Unlock()
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	d.cmd.Process.Signal(syscall.SIGTERM)
	if err := d.cmd.Wait(); err != nil {
		t.Fatalf("exit on SIGTERM under load: %v: %s", err, d.log)
	}
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged before SIGTERM")
	}
	checkAcknowledged(t, filepath.Join(live, "ev"), acked, true)
}
