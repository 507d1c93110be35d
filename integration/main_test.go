// Package integration runs the built franzfs binary against real mounts
// and real shell tools. Tests that mount need /dev/fuse: without it they
// skip, saying why, unless FRANZFS_REQUIRE_FUSE=1 (as CI sets) makes its
// absence a failure.
package integration

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// franzfs is the binary under test, built once by TestMain.
var franzfs string

func TestMain(m *testing.M) {
	if addr := os.Getenv("FRANZFS_TEST_HOLD_CONNS"); addr != "" {
		holdConns(addr) // a helper process of TestServeManyIdleConnections
		return
	}
	dir, err := os.MkdirTemp("", "franzfs-bin-")
	if err != nil {
		panic(err)
	}
	franzfs = filepath.Join(dir, "franzfs")
	build := exec.Command("go", "build", "-race", "-o", franzfs, "../cmd/franzfs")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building franzfs:", err)
		os.Exit(1)
	}
	// The race runtime sleeps a second at exit unless told otherwise; a
	// race found still exits 66, which the tests report.
	os.Setenv("GORACE", "atexit_sleep_ms=0 halt_on_error=1")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireFUSE skips a test that needs FUSE where there is none, or fails
// it when FRANZFS_REQUIRE_FUSE=1.
func requireFUSE(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err == nil {
		f.Close()
		return
	}
	if os.Getenv("FRANZFS_REQUIRE_FUSE") == "1" {
		t.Fatalf("FUSE is required (FRANZFS_REQUIRE_FUSE=1) but /dev/fuse cannot be opened: %v", err)
	}
	t.Skipf("no FUSE here (/dev/fuse: %v); set FRANZFS_REQUIRE_FUSE=1 to make this a failure", err)
}

// run runs the binary with args and stdin, and returns its stdout.
func run(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(franzfs, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("franzfs %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// sh runs a shell command line outside the mount and returns its output.
func sh(t testing.TB, line string) string {
	t.Helper()
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = os.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", line, err, out)
	}
	return string(out)
}

// shFails runs a shell command line that must fail, and returns its output.
func shFails(t testing.TB, line string) string {
	t.Helper()
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = os.TempDir()
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("%s succeeded: %s", line, out)
	}
	return string(out)
}

// A mounted is a franzfs mount process serving a mount point.
type mounted struct {
	dir   string
	cmd   *exec.Cmd
	log   *syncBuffer
	marks int // marks put in the log by logged
}

// mount starts franzfs mount with args and waits until it says it is ready.
// The mount is stopped with SIGTERM at the end of the test, and must leave
// no mount behind.
func mount(t *testing.T, args ...string) *mounted {
	t.Helper()
	requireFUSE(t)
	m := &mounted{dir: filepath.Join(t.TempDir(), "mnt"), log: &syncBuffer{}}
	if err := os.Mkdir(m.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m.start(t, args...)
	t.Cleanup(func() { m.stop(t) })
	return m
}

func (m *mounted) start(t *testing.T, args ...string) {
	t.Helper()
	m.cmd = exec.Command(franzfs, append(append([]string{"mount"}, args...), m.dir)...)
	m.cmd.Dir = os.TempDir()
	m.cmd.Stderr = m.log
	stdout, err := m.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready: ") {
				ready <- sc.Text()
			}
		}
		close(ready)
	}()
	select {
	case line, ok := <-ready:
		if !ok {
			m.cmd.Wait()
			t.Fatalf("mount exited before it was ready: %s", m.log)
		}
		_ = line
	case <-time.After(20 * time.Second):
		m.cmd.Process.Kill()
		t.Fatalf("mount not ready after 20s: %s", m.log)
	}
}

func (m *mounted) stop(t *testing.T) {
	if m.cmd.ProcessState != nil {
		return
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- m.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("mount exited with %v: %s", err, m.log)
		}
	case <-time.After(20 * time.Second):
		m.cmd.Process.Kill()
		t.Errorf("mount did not exit on SIGTERM: %s", m.log)
	}
	if isMounted(m.dir) {
		t.Errorf("%s still mounted after the mount exited", m.dir)
		syscall.Unmount(m.dir, syscall.MNT_DETACH)
	}
}

// logged returns the mount's --debug log up to now: it looks up a name no
// one else asks for and waits until the request shows in the log. The
// requests of a command that has ended were logged before it: go-fuse logs
// a request before it answers it.
func (m *mounted) logged(t *testing.T) string {
	t.Helper()
	m.marks++
	mark := fmt.Sprintf("log-mark-%d", m.marks)
	os.Stat(m.path(mark))
	var log string
	waitFor(t, "the mount to log "+mark, 10*time.Second, func() bool {
		log = m.log.String()
		return strings.Contains(log, mark)
	})
	return log
}

func (m *mounted) path(p ...string) string { return filepath.Join(append([]string{m.dir}, p...)...) }

func isMounted(dir string) bool {
	data, _ := os.ReadFile("/proc/self/mounts")
	return strings.Contains(string(data), " "+dir+" ")
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer a child process writes while a test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}
