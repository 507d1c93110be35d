package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/franzfs/franzfs/store"
)

// A stream is never made inside a stream, nor around one; the names of a
// stream's own files and views under it are bad names (400), never 500,
// and the stream stays whole.
func TestServeNesting(t *testing.T) {
	live := t.TempDir()
	d := serve(t, "--live", live)
	steps := []struct {
		path string
		code int
		want string
	}{
		{"/streams/v?tag=x", 200, `{"first":0,"count":1}`},
		{"/streams/v/tags/y", 400, "v is a stream, and a stream cannot hold another"},
		{"/streams/v/payloads", 400, "v is a stream"},
		{"/streams/v/seq", 400, "v is a stream"},
		{"/streams/v/x/y", 400, "v is a stream"},
		{"/streams/a/b", 200, `{"first":0,"count":1}`},
		{"/streams/a", 400, "it holds the folder b, and a stream cannot hold streams"},
		{"/streams/v", 200, `{"first":1,"count":1}`},
	}
	for _, s := range steps {
		if code, body := d.do(t, "POST", s.path, "", "r\n"); code != s.code || !strings.Contains(body, s.want) {
			t.Errorf("POST %s: %d %q, want %d with %q", s.path, code, body, s.code, s.want)
		}
	}
	if _, err := os.Stat(filepath.Join(live, "v", "tags", "y")); err == nil || fileExists(filepath.Join(live, "a", store.OffsetsFile)) || fileExists(filepath.Join(live, "a", ".lock")) {
		t.Errorf("a refused stream was made")
	}
	if got := run(t, "", "check", "--live", live, "v"); !strings.HasPrefix(got, "ok: ") || !strings.Contains(got, ": 2 records") {
		t.Errorf("check v: %q", got)
	}
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// A stream deleted under the daemon's open writer is made anew by the
// next append, which is acknowledged only once it is in the new stream.
func TestServeAppendAfterRemoval(t *testing.T) {
	live := t.TempDir()
	d := serve(t, "--live", live)
	if code, body := d.do(t, "POST", "/streams/gone", "", "old\n"); code != 200 {
		t.Fatalf("POST: %d %q", code, body)
	}
	if err := os.RemoveAll(filepath.Join(live, "gone")); err != nil {
		t.Fatal(err)
	}
	for i, rec := range []string{"new\n", "newer\n"} {
		code, body := d.do(t, "POST", "/streams/gone", "", rec)
		if want := `{"first":` + string(rune('0'+i)) + `,"count":1}`; code != 200 || !strings.Contains(body, want) {
			t.Errorf("POST after rm -rf: %d %q, want %s", code, body, want)
		}
	}
	if got := run(t, "", "read", "--live", live, "gone"); got != "new\nnewer\n" {
		t.Errorf("the stream made anew holds %q", got)
	}
}

// DELETE of a stream another process writes to is refused, naming the
// holder: that writer would acknowledge records into nothing.
func TestServeDeleteLocked(t *testing.T) {
	live := t.TempDir()
	w, err := store.OpenWriter(filepath.Join(live, "ext"), store.WriterOptions{Create: true, Indices: []string{"time"}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Append(store.Record{Payload: []byte("x"), Index: []int64{store.Now}}); err != nil {
		t.Fatal(err)
	}
	d := serve(t, "--live", live)
	if code, body := d.do(t, "DELETE", "/streams/ext", "", ""); code != 409 || !strings.Contains(body, "pid ") {
		t.Errorf("DELETE of a locked stream: %d %q, want 409 naming the holder", code, body)
	}
	if _, err := w.Append(store.Record{Payload: []byte("y"), Index: []int64{store.Now}}); err != nil {
		t.Errorf("the writer after a refused DELETE: %v", err)
	}
	w.Close()
	if code, body := d.do(t, "DELETE", "/streams/ext", "", ""); code != 204 {
		t.Errorf("DELETE once released: %d %q", code, body)
	}
}

// Readers of a stream end when it is deleted (follow with EOF, tail -f on
// a growing view as tail does when its file goes), and follow of an
// archived stream, which never grows, ends at once.
func TestMountReadersEnd(t *testing.T) {
	live, archive := t.TempDir(), t.TempDir()
	newEvents(t, filepath.Join(live, "del"), 3).Close()
	newEvents(t, filepath.Join(live, "old"), 3).Close()
	run(t, "", "archive", "--live", live, "old", filepath.Join(archive, "arch.squashfs"))
	m := mount(t, "--live", live, "--archive", archive)

	if got := sh(t, "timeout 20 cat "+m.path("arch", "follow")+"; echo exit $?"); got != "exit 0\n" {
		t.Errorf("cat follow of an archived stream: %q", got)
	}
	readers := []struct {
		cmd  []string
		file string
	}{
		{[]string{"cat", m.path("del", "follow")}, m.path("del", "follow")},
		{[]string{"tail", "-f", m.path("del", "seq", "0:")}, m.path("del", "seq", "0:")},
	}
	var cmds []*exec.Cmd
	for _, r := range readers {
		cmd := exec.Command(r.cmd[0], r.cmd[1:]...)
		cmd.Dir = os.TempDir()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		waitFor(t, r.cmd[0]+" to hold its file open", 10*time.Second, func() bool { return holdsOpen(cmd.Process.Pid, r.file) })
		cmds = append(cmds, cmd)
	}
	if err := os.RemoveAll(filepath.Join(live, "del")); err != nil {
		t.Fatal(err)
	}
	for i, cmd := range cmds {
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Errorf("%v still running 20 s after its stream was deleted", readers[i].cmd)
		}
	}
}

// A view keeps its inode number while its name means the same records,
// also under a folder whose own entry the kernel looks up again every
// second (tail -F would take a new number for a new file).
func TestMountStableInodes(t *testing.T) {
	live := t.TempDir()
	newEvents(t, filepath.Join(live, "app", "ev"), 5).Close()
	m := mount(t, "--live", live)
	names := []string{"app", "app/ev", "app/ev/tag/error", "app/ev/seq/0:", "app/ev/payloads", "app/ev/index/time/0:9000"}
	stat := func() string {
		var paths []string
		for _, n := range names {
			paths = append(paths, m.path(n))
		}
		return sh(t, "stat -c %i "+strings.Join(paths, " "))
	}
	first := stat()
	// Past the folders' one-second entry timeout, several times over.
	for start := time.Now(); time.Since(start) < 3*time.Second; time.Sleep(200 * time.Millisecond) {
		if got := stat(); got != first {
			t.Fatalf("inode numbers of %q changed:\n%s\nthen\n%s", names, first, got)
		}
	}
}
