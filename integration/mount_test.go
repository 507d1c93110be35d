package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/franzfs/franzfs/store"
)

// event is record i's payload in these tests.
func event(i int64) string {
	level := "info"
	if i%10 == 3 {
		level = "error"
	}
	return fmt.Sprintf("event %d level=%s\n", i, level)
}

func events(nums ...int64) string {
	var b strings.Builder
	for _, i := range nums {
		b.WriteString(event(i))
	}
	return b.String()
}

func span(first, last int64) []int64 {
	var out []int64
	for i := first; i <= last; i++ {
		out = append(out, i)
	}
	return out
}

// writeEvents appends records from..to-1 to the stream in dir, creating it:
// time 1000*i, tag even on even records, error on every tenth from 3.
func writeEvents(t testing.TB, w *store.Writer, from, to int64) {
	t.Helper()
	for i := from; i < to; i++ {
		var tags []string
		if i%2 == 0 {
			tags = append(tags, "even")
		}
		if i%10 == 3 {
			tags = append(tags, "error")
		}
		if _, err := w.Append(store.Record{Payload: []byte(event(i)), Index: []int64{1000 * i}, Tags: tags}); err != nil {
			t.Fatal(err)
		}
	}
}

func newEvents(t testing.TB, dir string, n int64) *store.Writer {
	t.Helper()
	w, err := store.OpenWriter(dir, store.WriterOptions{Create: true, Indices: []string{"time"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	writeEvents(t, w, 0, n)
	return w
}

func TestMountShellTools(t *testing.T) {
	live := t.TempDir()
	w := newEvents(t, filepath.Join(live, "app", "ev"), 20)
	long := time.Date(2021, 5, 6, 7, 8, 9, 0, time.UTC) // the last append, as the files say
	if err := os.Chtimes(filepath.Join(live, "app", "ev", "payloads"), long, long); err != nil {
		t.Fatal(err)
	}
	m := mount(t, "--live", live)
	ev := m.path("app", "ev")

	if got := sh(t, "ls "+m.dir); got != "app\n" {
		t.Errorf("ls root: %q", got)
	}
	if got := sh(t, "ls "+ev); got != "follow\nindex\nindices\noffsets\npayloads\nquery\nseq\nstat.json\ntag\n" {
		t.Errorf("ls stream: %q", got)
	}
	if got := sh(t, "ls -f "+ev+"/seq | sort -n | tr '\\n' ' '"); !strings.HasPrefix(got, "0 1 2 ") || !strings.HasSuffix(got, " 18 19 ") {
		t.Errorf("ls seq: %q", got)
	}
	if got := sh(t, "ls "+ev+"/tag "+ev+"/index"); !strings.Contains(got, "error\neven\n") || !strings.Contains(got, "time\n") {
		t.Errorf("ls tag index: %q", got)
	}

	cats := []struct{ path, want string }{
		{"seq/5", events(5)},
		{"seq/-1", events(19)},
		{"seq/_2", events(18)},
		{"seq/2:4", events(2, 3, 4)},
		{"seq/:1", events(0, 1)},
		{"seq/17:", events(17, 18, 19)},
		{"seq/-2:", events(18, 19)},
		{"seq/7,3,7,-1", events(7, 3, 7, 19)},
		{"seq/1:2,18:", events(1, 2, 18, 19)},
		{"index/time/2000:4000", events(2, 3, 4)},
		{"index/time/2500:4500", events(3, 4)},
		{"index/time/18000:", events(18, 19)},
		{"tag/error", events(3, 13)},
		{"query/error+even", ""},
		{"query/error,even", events(0, 2, 3, 4, 6, 8, 10, 12, 13, 14, 16, 18)},
	}
	for _, c := range cats {
		if got := sh(t, "cat "+ev+"/"+c.path); got != c.want {
			t.Errorf("cat %s: %q, want %q", c.path, got, c.want)
		}
	}
	for _, f := range []string{"payloads", "offsets", "indices"} {
		sh(t, fmt.Sprintf("cmp %s/%s %s/app/ev/%s", ev, f, live, f))
	}
	all := events(span(0, 19)...)
	if got := sh(t, "stat -c %s "+ev+"/seq/2:4"); got != fmt.Sprintf("%d\n", len(events(2, 3, 4))) {
		t.Errorf("stat size: %q", got)
	}
	if got := sh(t, "wc -c < "+ev+"/seq/0:"); got != fmt.Sprintf("%d\n", len(all)) {
		t.Errorf("wc -c: %q", got)
	}
	if got := sh(t, "head -c 9 "+ev+"/seq/0:"); got != all[:9] {
		t.Errorf("head -c: %q", got)
	}
	if got := sh(t, "grep -c level=error "+ev+"/seq/0:"); got != "2\n" {
		t.Errorf("grep -c: %q", got)
	}
	if got := sh(t, "dd if="+ev+"/seq/0: bs=1 skip=30 count=12 status=none"); got != all[30:42] {
		t.Errorf("dd skip: %q, want %q", got, all[30:42])
	}
	var st store.Stat
	if err := json.Unmarshal([]byte(sh(t, "cat "+ev+"/stat.json")), &st); err != nil || st.Records != 20 || st.Bytes != int64(len(all)) || !st.Live || len(st.Tags) != 2 {
		t.Errorf("stat.json: %+v, %v", st, err)
	}

	for _, p := range []string{"seq/x", "seq/5:2", "seq/20", "seq/-21", "index/nosuch/1:2", "index/time/b:c", "tag/nosuch", "query/a+", "nosuch"} {
		if out := shFails(t, "cat "+ev+"/"+p); !strings.Contains(out, "No such file or directory") {
			t.Errorf("cat %s: %q", p, out)
		}
	}
	for _, line := range []string{"touch " + ev + "/new", "rm " + ev + "/payloads", "echo x > " + ev + "/payloads", "echo x >> " + ev + "/seq/0", "mkdir " + m.path("x"), "rm -r " + ev} {
		if out := shFails(t, line); !strings.Contains(out, "Read-only file system") {
			t.Errorf("%s: %q, want EROFS", line, out)
		}
	}

	// Growing views: their size follows the stream, whole records only,
	// even read within moments of a stat that gave the size before (the
	// kernel keeps a size a jiffy at least). Their time is the stream's
	// when first looked at, and stays.
	since := fmt.Sprintf("%d\n", long.Unix())
	if got := sh(t, "stat -c %Y "+ev+"/seq/17:"); got != since {
		t.Errorf("time of seq/17: %q, want the last append's, %q", got, since)
	}
	writeEvents(t, w, 20, 22)
	if got := sh(t, "cat "+ev+"/seq/17:"); got != events(17, 18, 19, 20, 21) {
		t.Errorf("grown seq/17: %q", got)
	}
	if got := sh(t, "stat -c %Y "+ev+"/seq/17:"); got != since {
		t.Errorf("time of seq/17 after growth: %q, want %q", got, since)
	}
	if got := sh(t, "cat "+ev+"/seq/-1"); got != events(21) {
		t.Errorf("seq/-1 after growth: %q", got)
	}
	if got := sh(t, "cat "+ev+"/tag/even | wc -l"); got != "11\n" {
		t.Errorf("grown tag/even: %q lines", got)
	}
}

// tail -f on a growing view prints records appended after it started.
func TestMountTailFollow(t *testing.T) {
	live := t.TempDir()
	w := newEvents(t, filepath.Join(live, "ev"), 5)
	m := mount(t, "--live", live)

	for _, c := range []struct {
		name string
		cmd  []string
	}{
		{"tail -f", []string{"tail", "-c", "+1", "-s", "0.1", "-f", m.path("ev", "seq", "3:")}},
		{"tail -f tag", []string{"tail", "-c", "+1", "-s", "0.1", "-f", m.path("ev", "tag", "even")}},
		{"cat follow", []string{"cat", m.path("ev", "follow")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(c.cmd[0], c.cmd[1:]...)
			cmd.Dir = os.TempDir()
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			lines := make(chan string, 100)
			go func() {
				sc := bufio.NewScanner(out)
				for sc.Scan() {
					lines <- sc.Text() + "\n"
				}
				close(lines)
			}()
			// follow starts at the end when opened: append only once it is.
			waitFor(t, c.name+" to open its file", 5*time.Second, func() bool {
				return holdsOpen(cmd.Process.Pid, c.cmd[len(c.cmd)-1])
			})
			from := w.Len()
			writeEvents(t, w, from, from+4)
			var want []int64
			for i := int64(0); i < from+4; i++ {
				switch {
				case c.name == "tail -f" && i < 3, c.name == "cat follow" && i < from, c.name == "tail -f tag" && i%2 != 0:
					continue
				}
				want = append(want, i)
			}
			var got strings.Builder
			deadline := time.After(5 * time.Second)
			for got.String() != events(want...) {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("%s ended; got %q", c.name, got.String())
					}
					got.WriteString(l)
				case <-deadline:
					t.Fatalf("%s: got %q, want %q", c.name, got.String(), events(want...))
				}
			}
			// Ctrl-C ends a blocked read promptly.
			cmd.Process.Signal(syscall.SIGINT)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(3 * time.Second):
				t.Fatalf("%s did not end on SIGINT", c.name)
			}
		})
	}
}

// holdsOpen reports whether process pid has file open.
func holdsOpen(pid int, file string) bool {
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		if target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && target == file {
			return true
		}
	}
	return false
}

// Streams made after the mount appear; deleted ones vanish.
func TestMountStreamsComeAndGo(t *testing.T) {
	live := t.TempDir()
	newEvents(t, filepath.Join(live, "app", "keep"), 2)
	gone := newEvents(t, filepath.Join(live, "app", "gone"), 2)
	m := mount(t, "--live", live)
	if got := sh(t, "ls "+m.path("app")); got != "gone\nkeep\n" {
		t.Fatalf("ls: %q", got)
	}
	sh(t, "cat "+m.path("app", "gone", "seq", "0"))

	newEvents(t, filepath.Join(live, "app", "new"), 3)
	newEvents(t, filepath.Join(live, "other", "deep", "s"), 1)
	if got := sh(t, "ls "+m.path("app")+" "+m.path("other", "deep")); !strings.Contains(got, "new\n") || !strings.Contains(got, "s\n") {
		t.Fatalf("new streams not listed: %q", got)
	}
	if got := sh(t, "cat "+m.path("app", "new", "seq", "2")); got != events(2) {
		t.Fatalf("new stream: %q", got)
	}

	gone.Close()
	if err := os.RemoveAll(filepath.Join(live, "app", "gone")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deleted stream to vanish", 5*time.Second, func() bool {
		_, err := os.Stat(m.path("app", "gone"))
		return os.IsNotExist(err) && !strings.Contains(sh(t, "ls "+m.path("app")), "gone")
	})
}

// A damaged stream gives EIO for what cannot be read, and logs why; the
// rest of it, and of the mount, keeps working.
func TestMountDamagedStream(t *testing.T) {
	live := t.TempDir()
	w := newEvents(t, filepath.Join(live, "bad"), 6)
	w.Close()
	newEvents(t, filepath.Join(live, "good"), 2)
	// Record 3's end offset points far past payloads.
	f, err := os.OpenFile(filepath.Join(live, "bad", "offsets"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0, 0, 0, 0, 0, 0, 1, 0}, 3*16)
	f.Close()
	m := mount(t, "--live", live)
	if out := shFails(t, "cat "+m.path("bad", "seq", "3")); !strings.Contains(out, "Input/output error") {
		t.Errorf("damaged record: %q", out)
	}
	if got := sh(t, "cat "+m.path("bad", "seq", "1")); got != events(1) {
		t.Errorf("intact record of a damaged stream: %q", got)
	}
	if got := sh(t, "cat "+m.path("good", "seq", "0:")); got != events(0, 1) {
		t.Errorf("other stream: %q", got)
	}
	waitFor(t, "a log line naming the damaged path", 2*time.Second, func() bool {
		return strings.Contains(m.log.String(), "bad/seq/3")
	})
}

// A mount whose process was killed is cleared by the next mount.
func TestMountClearsStaleMount(t *testing.T) {
	live := t.TempDir()
	newEvents(t, filepath.Join(live, "ev"), 1)
	m := mount(t, "--live", live)
	m.cmd.Process.Kill()
	m.cmd.Wait()
	if _, err := os.Stat(m.path("ev")); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Fatalf("after kill: %v", err)
	}
	m.start(t, "--live", live)
	if got := sh(t, "cat "+m.path("ev", "seq", "0")); got != events(0) {
		t.Fatalf("after remount: %q", got)
	}
}

// A small view whose records all exist is put into the page cache when it
// is opened: reading it costs no READ request, one round trip fewer.
func TestMountSmallViewsFromPageCache(t *testing.T) {
	live := t.TempDir()
	newEvents(t, filepath.Join(live, "ev"), 10)
	m := mount(t, "--debug", "--live", live)
	sh(t, "ls "+m.path("ev", "seq")+" >/dev/null")
	before := len(m.logged(t))
	if got := sh(t, "cat "+m.path("ev", "seq", "4")+" "+m.path("ev", "seq", "7:8")); got != events(4, 7, 8) {
		t.Fatalf("cat: %q", got)
	}
	traffic := m.logged(t)[before:]
	if n := strings.Count(traffic, "NOTIFY_STORE_CACHE"); n != 2 {
		t.Errorf("%d notify stores, want 2:\n%s", n, traffic)
	}
	if strings.Contains(traffic, " READ n") {
		t.Errorf("a READ request for a view in the page cache:\n%s", traffic)
	}
	// A growing view is read from this process as before.
	before = len(m.logged(t))
	if got := sh(t, "cat "+m.path("ev", "seq", "8:")); got != events(8, 9) {
		t.Fatalf("cat seq/8: %q", got)
	}
	if traffic := m.logged(t)[before:]; !strings.Contains(traffic, " READ n") || strings.Contains(traffic, "NOTIFY_STORE_CACHE") {
		t.Errorf("growing view:\n%s", traffic)
	}
}
