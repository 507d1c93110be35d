package integration

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/franzfs/franzfs/store"
)

// An objectStore is an S3-compatible server for the tests: versitygw over
// a scratch folder (a real S3 server, not a mock), or the store the
// environment names, so that anyone can run these tests against their own:
// FRANZFS_TEST_S3_BUCKET with AWS_ENDPOINT_URL (or AWS itself) and
// credentials as every AWS tool takes them.
type objectStore struct {
	bucket string
	data   string    // versitygw's folder; "" for a store of the environment
	cmd    *exec.Cmd // versitygw
	addr   string
}

const s3Key, s3Secret = "franzfs-test", "franzfs-test-secret"

// s3Store starts versitygw, or takes the environment's store. Without
// either it skips, unless FRANZFS_REQUIRE_S3=1 (as CI sets).
func s3Store(t *testing.T) *objectStore {
	t.Helper()
	if b := os.Getenv("FRANZFS_TEST_S3_BUCKET"); b != "" {
		return &objectStore{bucket: b}
	}
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		if gobin := filepath.Join(os.Getenv("HOME"), "go", "bin", "versitygw"); fileExists(gobin) {
			bin, err = gobin, nil
		}
	}
	if err != nil {
		if os.Getenv("FRANZFS_REQUIRE_S3") == "1" {
			t.Fatalf("an S3 server is required (FRANZFS_REQUIRE_S3=1) but versitygw is not installed: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
		}
		t.Skip("no S3 server: install versitygw (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0) or set FRANZFS_TEST_S3_BUCKET; FRANZFS_REQUIRE_S3=1 makes this a failure")
	}
	o := &objectStore{bucket: "history", data: t.TempDir(), addr: freeAddr(t)}
	if err := os.Mkdir(filepath.Join(o.data, o.bucket), 0o755); err != nil {
		t.Fatal(err)
	}
	o.start(t, bin)
	t.Setenv("AWS_ACCESS_KEY_ID", s3Key)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3Secret)
	t.Setenv("AWS_ENDPOINT_URL", "http://"+o.addr)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Cleanup(func() { o.stop() })
	return o
}

func (o *objectStore) start(t *testing.T, bin string) {
	t.Helper()
	o.cmd = exec.Command(bin, "--access", s3Key, "--secret", s3Secret, "--port", o.addr, "posix", o.data)
	if err := o.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "versitygw listens on "+o.addr, 20*time.Second, func() bool {
		c, err := dialTCP(o.addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

func (o *objectStore) stop() {
	if o.cmd != nil && o.cmd.ProcessState == nil {
		o.cmd.Process.Signal(syscall.SIGTERM)
		o.cmd.Wait()
	}
}

func (o *objectStore) url(key string) string { return "s3://" + o.bucket + "/" + key }

// Archives in a bucket: every view of every archived stream, through the
// mount, the daemon over HTTP and over franzd's protocol, and the CLI, is
// byte for byte the live source's.
func TestS3ArchivesEqualLive(t *testing.T) {
	o := s3Store(t)
	live := t.TempDir()
	newEvents(t, filepath.Join(live, "app", "ev"), 40)
	newEvents(t, filepath.Join(live, "app", "other"), 3)
	run(t, "", "archive", "--live", live, "--verify", "app/ev", o.url("arch/one.squashfs"))
	run(t, "", "archive", "--live", live, "app/ev", "app/other", o.url("arch/both.squashfs"))
	if out := shFails(t, franzfs+" archive --live "+live+" app/ev "+o.url("arch/one.squashfs")); !strings.Contains(out, "exists: give --force") {
		t.Errorf("archive onto an object: %q", out)
	}

	// A folder given first wins a name over the bucket given after it.
	local := t.TempDir()
	run(t, "", "archive", "--live", live, "app/other", filepath.Join(local, "one.squashfs"))
	run(t, "", "archive", "--live", live, "app/other", filepath.Join(local, "other.squashfs"))
	first := mount(t, "--archive", local, "--archive", o.url("arch/"))
	if got := sh(t, "ls "+first.dir); got != "both\none\nother\n" {
		t.Fatalf("ls of a folder and a bucket: %q", got)
	}
	sh(t, "cmp "+first.path("one", "payloads")+" "+filepath.Join(live, "app", "other", "payloads"))

	m := mount(t, "--live", live, "--archive", o.url("arch/"))
	if got := sh(t, "ls "+m.dir); got != "app\nboth\none\n" {
		t.Fatalf("ls: %q", got)
	}
	// Times are the archived files', to the second, as squashfs keeps them.
	fi, err := os.Stat(filepath.Join(live, "app", "ev", "payloads"))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d\n", fi.ModTime().Unix())
	for _, name := range []string{"one", "both/app/ev"} {
		for _, v := range viewPaths {
			sh(t, "cmp "+m.path("app", "ev", v)+" "+m.path(name, v))
		}
		for _, p := range []string{"payloads", "seq/0", "tag/even"} {
			if got := sh(t, "stat -c %Y "+m.path(name, p)); got != want {
				t.Errorf("%s/%s: time %q, want %q", name, p, got, want)
			}
		}
	}
	if got := sh(t, "cat "+m.path("one", "stat.json")); !strings.Contains(got, `"source": "`+o.url("arch/one.squashfs")+`"`) {
		t.Errorf("stat.json says where the stream lives: %s", got)
	}
	if got, want := run(t, "", "read", "-r", "5:9", o.url("arch/one.squashfs")), events(5, 6, 7, 8, 9); got != want {
		t.Errorf("read from the bucket: %q", got)
	}
	if got := run(t, "", "info", o.url("arch/both.squashfs/app/ev")); !strings.Contains(got, "records     40") || !strings.Contains(got, o.url("arch/both.squashfs/app/ev")) {
		t.Errorf("info from the bucket: %q", got)
	}
	run(t, "", "check", o.url("arch/one.squashfs"))

	d := serve(t, "--live", live, "--archive", o.url("arch/"), "--franzd", "127.0.0.1:0")
	for _, v := range viewPaths {
		want := sh(t, "cat "+m.path("app", "ev", v))
		if code, got := d.do(t, "GET", "/streams/one/"+v, "", ""); code != 200 || got != want {
			t.Errorf("GET one/%s: %d, %d bytes, want %d", v, code, len(got), len(want))
		}
	}
	if got, want := run(t, "", "read", "--framed", "franz://"+d.franzd+"/one.squashfs", ""), run(t, "", "read", "--framed", "--live", live, "app/ev"); got != want {
		t.Errorf("franzd from the bucket: %d bytes, want %d", len(got), len(want))
	}
}

// Objects added, replaced and deleted show up within --s3-refresh; a file
// open on a replaced object fails (EIO) rather than mix old and new bytes;
// a store that stops answers errors, then serves again once back.
func TestS3ObjectsChange(t *testing.T) {
	o := s3Store(t)
	if o.data == "" {
		t.Skip("stops and restarts the server: versitygw only")
	}
	live := t.TempDir()
	// Big enough that a read goes on fetching after the replacement: 3 MB
	// that gzip cannot shrink.
	w, err := store.OpenWriter(filepath.Join(live, "big"), store.WriterOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	noise := make([]byte, 3<<20)
	rand.Read(noise)
	for k := 0; k < len(noise); k += 64 << 10 {
		if _, err := w.Append(store.Record{Payload: noise[k : k+64<<10]}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	newEvents(t, filepath.Join(live, "small"), 5)
	run(t, "", "archive", "--live", live, "big", o.url("arch/big.squashfs"))
	m := mount(t, "--archive", o.url("arch/"), "--s3-refresh", "200ms", "--s3-timeout", "3s")
	if got := sh(t, "ls "+m.dir); got != "big\n" {
		t.Fatalf("ls: %q", got)
	}

	// Added: it shows up.
	run(t, "", "archive", "--live", live, "small", o.url("arch/small.squashfs"))
	waitFor(t, "small to show up", 10*time.Second, func() bool { return fileExists(m.path("small", "payloads")) })

	// Replaced under an open file: the rest of it is EIO, never new bytes.
	f, err := os.Open(m.path("big", "payloads"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, 4096)
	if _, err := f.ReadAt(head, 0); err != nil || !bytes.Equal(head, noise[:4096]) {
		t.Fatalf("first page: %v", err)
	}
	run(t, "", "archive", "--force", "--live", live, "small", o.url("arch/big.squashfs"))
	rest := make([]byte, 1<<20)
	if _, err := f.ReadAt(rest, 2<<20); !errors.Is(err, syscall.EIO) {
		t.Errorf("read of a replaced object: %v, want EIO", err)
	}
	waitFor(t, "big to be the new image", 10*time.Second, func() bool {
		b, err := os.ReadFile(m.path("big", "seq", "0"))
		return err == nil && string(b) == event(0)
	})

	// Deleted: it goes.
	os.Remove(filepath.Join(o.data, o.bucket, "arch", "small.squashfs"))
	waitFor(t, "small to go", 10*time.Second, func() bool { return !fileExists(m.path("small")) })

	// The server stops: reads that need it fail; back, they work again.
	run(t, "", "archive", "--force", "--live", live, "big", o.url("arch/big.squashfs"))
	waitFor(t, "big to be big again", 10*time.Second, func() bool {
		fi, err := os.Stat(m.path("big", "payloads"))
		return err == nil && fi.Size() == int64(len(noise))
	})
	o.stop()
	if _, err := os.ReadFile(m.path("big", "payloads")); err == nil {
		t.Error("read with the server stopped: no error")
	}
	bin := o.cmd.Path
	o.start(t, bin)
	waitFor(t, "reads to work again", 20*time.Second, func() bool {
		b, err := os.ReadFile(m.path("big", "payloads"))
		return err == nil && bytes.Equal(b, noise)
	})
}

// Wrong credentials and a missing bucket are one line each, with their
// exit codes.
func TestS3Refusals(t *testing.T) {
	o := s3Store(t)
	mnt := t.TempDir()
	cases := []struct {
		env  []string
		url  string
		code int
		say  string
	}{
		{[]string{"AWS_SECRET_ACCESS_KEY=wrong"}, o.url("arch/"), 6, "access denied"},
		{nil, "s3://no-such-bucket-franzfs/", 3, "no bucket no-such-bucket-franzfs"},
	}
	for _, c := range cases {
		for _, args := range [][]string{{"mount", "--archive", c.url, mnt}, {"read", c.url + "x.squashfs"}, {"serve", "--live", t.TempDir(), "--archive", c.url}} {
			cmd := exec.Command(franzfs, args...)
			cmd.Env = append(os.Environ(), c.env...)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != c.code || !strings.Contains(string(out), c.say) || strings.Count(string(out), "\n") != 1 {
				t.Errorf("franzfs %s with %v: %v: %q, want exit %d and one line with %q", strings.Join(args, " "), c.env, err, out, c.code, c.say)
			}
		}
	}
}

func dialTCP(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, time.Second) }
