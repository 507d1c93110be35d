package integration

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// franzWritten lays out a stream byte for byte as franz's writer does
// (FRANZD.md section 8): indices as given, no lock, no tags.
func franzWritten(t *testing.T, dir, indices string, payloads []string, values ...[]int64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var p, o []byte
	for i, payload := range payloads {
		p = append(p, payload...)
		o = binary.LittleEndian.AppendUint64(o, uint64(len(p)))
		for _, v := range values[i] {
			o = binary.LittleEndian.AppendUint64(o, uint64(v))
		}
	}
	for name, data := range map[string][]byte{"indices": []byte(indices), "payloads": p, "offsets": o} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Streams as franz's writer makes them, with its unnamed index, empty
// names, a \r in a name and an index whose values decrease, read alike by
// every command, the daemon over HTTP and over franzd's protocol, and the
// mount.
func TestFranzWrittenStreams(t *testing.T) {
	live := t.TempDir()
	abc := []string{"a\n", "b\n", "c\n", "d\n", "e\n"}
	franzWritten(t, filepath.Join(live, "unnamed"), "\n", abc[:3], []int64{10}, []int64{20}, []int64{30})
	franzWritten(t, filepath.Join(live, "blanks"), "a\n\nb\r\n", abc[:2], []int64{1, 2, 3}, []int64{4, 5, 6})
	franzWritten(t, filepath.Join(live, "unsorted"), "v\n", abc, []int64{5}, []int64{1}, []int64{7}, []int64{3}, []int64{9})

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"read", "unnamed"}, "a\nb\nc\n"},
		{[]string{"read", "--index", "", "-r", "15:30", "unnamed"}, "b\nc\n"},
		{[]string{"read", "--index", "b\r", "-r", "6", "blanks"}, "b\n"},
		{[]string{"read", "--index", "v", "-r", "2:8", "unsorted"}, "a\nc\nd\n"},
		{[]string{"read", "-r", "4", "-r", "0:1", "unsorted"}, "e\na\nb\n"},
		{[]string{"check", "unnamed"}, "ok: " + filepath.Join(live, "unnamed") + ": 3 records\n"},
		{[]string{"check", "blanks"}, "ok: " + filepath.Join(live, "blanks") + ": 2 records\n"},
	} {
		cmd := append(c.args[:len(c.args)-1:len(c.args)-1], "--live", live, c.args[len(c.args)-1])
		if got := run(t, "", cmd...); got != c.want {
			t.Errorf("franzfs %q: %q, want %q", cmd, got, c.want)
		}
	}
	check := run(t, "", "check", "--live", live, "unsorted")
	if !strings.HasSuffix(check, "ok: "+filepath.Join(live, "unsorted")+": 5 records\n") || !strings.Contains(check, `note: index "v" is not sorted`) {
		t.Errorf("check unsorted: %q", check)
	}
	if info := run(t, "", "info", "--live", live, "unnamed"); !strings.Contains(info, "index %  10 to 30\n") {
		t.Errorf("info unnamed: %q", info)
	}
	if info := run(t, "", "info", "--live", live, "unsorted"); !strings.Contains(info, "index v  first 5, last 9, not sorted\n") {
		t.Errorf("info unsorted: %q", info)
	}

	d := serve(t, "--live", live, "--franzd", "127.0.0.1:0")
	for path, want := range map[string]string{
		"/streams/unnamed/index/%25/15:30":   "b\nc\n",
		"/streams/blanks/index/%25b%250D/6:": "b\n",
		"/streams/unsorted/index/v/2:8":      "a\nc\nd\n",
		"/streams/unsorted/seq/1:3":          "b\nc\nd\n",
	} {
		if code, body := d.do(t, "GET", path, "", ""); code != 200 || body != want {
			t.Errorf("GET %s: %d %q, want %q", path, code, body, want)
		}
	}
	if _, body := d.do(t, "GET", "/streams/unsorted/stat.json", "", ""); !strings.Contains(body, `"sorted": false`) {
		t.Errorf("stat.json: %s", body)
	}
	// franz's reader through franzfs's franzd: the same framed bytes as a
	// local read; on an unsorted index, franzd's contiguous range.
	url := "franz://" + d.franzd + "/"
	for _, name := range []string{"unnamed", "blanks", "unsorted"} {
		if got, want := run(t, "", "read", "--framed", url, name, "-r", "0:-1"), run(t, "", "read", "--framed", "--live", live, name); got != want {
			t.Errorf("%s: franz:// read %q, local %q", name, got, want)
		}
	}
	if got := run(t, "", "read", url, "unsorted", "--index", "v", "-r", "2:8"); got != "a\nb\nc\nd\n" {
		t.Errorf("franz:// ByIndex on an unsorted index: %q", got)
	}
	if got := run(t, "", "read", url, "unnamed", "--index", "", "-r", "15:30"); got != "b\nc\n" {
		t.Errorf("franz:// ByIndex on the unnamed index: %q", got)
	}

	// franzfs append gives franz's unnamed index its value.
	if got := run(t, "d\n", "append", "--live", live, "--index", "=40", "unnamed"); got != `{"first":3,"count":1}`+"\n" {
		t.Errorf("append to the unnamed index: %q", got)
	}

	m := mount(t, "--live", live)
	for path, want := range map[string]string{
		"unnamed/index/%/15:30": "b\nc\n",
		"blanks/index/%b%0D/6":  "b\n",
		"unsorted/index/v/2:8":  "a\nc\nd\n",
		"unsorted/index/v/4:":   "a\nc\ne\n",
		"unsorted/seq/4,0":      "e\na\n",
		"unnamed/indices":       "\n",
	} {
		if got := sh(t, "cat '"+m.path(path)+"'"); got != want {
			t.Errorf("cat %s: %q, want %q", path, got, want)
		}
	}
	if got := sh(t, "ls '"+m.path("blanks/index")+"'"); got != "%\n%b%0D\na\n" {
		t.Errorf("ls blanks/index: %q", got)
	}
}

// Installed as franzd, franzfs takes franzd's command line. With a
// relative live root, a franz client waiting on a stream sees the appends
// (franzd does not: its watcher compares absolute and relative paths).
func TestFranzdRelativeRoot(t *testing.T) {
	work := t.TempDir()
	os.Mkdir(filepath.Join(work, "live"), 0o755)
	run(t, "a\n", "append", "--live", filepath.Join(work, "live"), "ev")
	franzd := filepath.Join(work, "franzd")
	if err := os.Symlink(franzfs, franzd); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(franzd, "--bogus").CombinedOutput(); err == nil || !strings.Contains(string(out), `franzd: unknown option "--bogus"`) {
		t.Errorf("franzd --bogus: %v: %s", err, out)
	}
	d := &daemon{log: &syncBuffer{}}
	d.cmd = exec.Command(franzd, "--live", "live", "--port", "0", "--mount", "/tmp/franz", "--reap-interval", "60")
	d.cmd.Dir, d.cmd.Stderr = work, d.log
	out, _ := d.cmd.StdoutPipe()
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { d.cmd.Process.Signal(syscall.SIGTERM); d.cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "franzd: ") {
		t.Fatalf("serve: %q %v: %s", line, err, d.log)
	}
	addr := strings.TrimSpace(strings.TrimPrefix(line, "franzd: "))
	// The read waits for record 1, then an append gives it.
	read := exec.Command(franzfs, "read", "franz://"+addr+"/", "ev", "-r", "1", "--timeout", "1m")
	var got bytes.Buffer
	read.Stdout, read.Stderr = &got, &got
	if err := read.Start(); err != nil {
		t.Fatal(err)
	}
	run(t, "b\n", "append", "--live", filepath.Join(work, "live"), "ev")
	if err := read.Wait(); err != nil || got.String() != "b\n" {
		t.Fatalf("read of a record appended while it waited: %q, %v", got.String(), err)
	}
}
