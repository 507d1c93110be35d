package integration

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCLIAppendReadInfoCheck(t *testing.T) {
	live := t.TempDir()
	got := run(t, "a\nb\nc", "append", "--live", live, "--lines", "--tag", "x", "app/ev")
	if got != `{"first":0,"count":3}`+"\n" {
		t.Fatalf("append --lines: %q", got)
	}
	got = run(t, "one record\nwith two lines\n", "append", "--live", live, "--sync", "always", "app/ev")
	if got != `{"first":3,"count":1}`+"\n" {
		t.Fatalf("append: %q", got)
	}
	ev := filepath.Join(live, "app", "ev")
	if got := run(t, "", "read", ev); got != "a\nb\ncone record\nwith two lines\n" {
		t.Errorf("read: %q", got)
	}
	if got := run(t, "", "read", "--live", live, "-r", "1:2", "app/ev"); got != "b\nc" {
		t.Errorf("read -r 1:2: %q", got)
	}
	if got := run(t, "", "read", "-r", "_1", ev); got != "one record\nwith two lines\n" {
		t.Errorf("read -r _1: %q", got)
	}
	// A line longer than append's 1 MiB read buffer is still one record.
	long := strings.Repeat("z", 3<<20) + "\n"
	if got := run(t, "x\n"+long+"y", "append", "--live", live, "--lines", "app/long"); got != `{"first":0,"count":3}`+"\n" {
		t.Fatalf("append --lines with a long line: %q", got)
	}
	if got := run(t, "", "read", "--live", live, "-r", "1", "app/long"); got != long {
		t.Errorf("read -r 1 of the long line: %d bytes, want %d", len(got), len(long))
	}
	framed := run(t, "", "read", "--framed", "-r", ":1", ev)
	want := append(binary.LittleEndian.AppendUint64(nil, 2), "a\n"...)
	want = append(binary.LittleEndian.AppendUint64(want, 2), "b\n"...)
	if framed != string(want) {
		t.Errorf("read --framed: %q", framed)
	}
	if got := run(t, "", "read", "--index", "time", "-r", "-1h:", ev); !strings.HasPrefix(got, "a\nb\n") {
		t.Errorf("read --index time -r -1h: %q", got)
	}
	var st struct {
		Records int64 `json:"records"`
		Tags    []struct {
			Name    string `json:"name"`
			Records int64  `json:"records"`
		} `json:"tags"`
	}
	if err := json.Unmarshal([]byte(run(t, "", "info", "--json", ev)), &st); err != nil || st.Records != 4 || len(st.Tags) != 1 || st.Tags[0].Records != 3 {
		t.Errorf("info --json: %+v, %v", st, err)
	}
	if got := run(t, "", "info", ev); !strings.Contains(got, "records     4") {
		t.Errorf("info: %q", got)
	}
	if got := run(t, "", "check", ev); !strings.HasPrefix(got, "ok: ") {
		t.Errorf("check: %q", got)
	}
	run(t, "", "append", "--live", live, "--index", "n=5", "nums")
	// An explicit time after the records stamped on arrival: the time index
	// must not decrease, whatever day the test runs.
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	run(t, "", "append", "--live", live, "--index", "n=7", "--index", "time="+later, "nums")
	if got := run(t, "", "read", "--live", live, "--index", "n", "-r", "6:", "nums"); got != "" {
		t.Errorf("empty record with n=7: %q", got)
	}
}

// Each error a user can meet is one line naming what and where, with a
// documented exit code.
func TestCLIErrors(t *testing.T) {
	live := t.TempDir()
	run(t, "x", "append", "--live", live, "--index", "n=5", "s")
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"append", "--live", live, "a/../b"}, 2, `stream name "a/../b"`},
		{[]string{"append", "--live", live, "--tag", "a b", "s"}, 2, `tag "a b"`},
		{[]string{"append", "--live", live, "--index", "n=4", "s"}, 2, "index n value 4 is less than the previous 5"},
		{[]string{"append", "--live", live, "s"}, 2, "give --index n=V"},
		{[]string{"append", "--live", live, "--index", "m=1", "--index", "n=6", "s"}, 2, "has no index m"},
		{[]string{"append", "--live", live, "--index", "n=x", "s"}, 2, `value "x" is not an integer`},
		{[]string{"append", "s"}, 2, "needs --live"},
		{[]string{"read", filepath.Join(live, "nope")}, 3, "no stream " + filepath.Join(live, "nope") + ": check the name"},
		{[]string{"read", "-r", "5:2", filepath.Join(live, "s")}, 2, "start after end"},
		{[]string{"read", "-r", "9", filepath.Join(live, "s")}, 3, "not found"},
		{[]string{"read", "--index", "zz", "-r", "1:", filepath.Join(live, "s")}, 3, `index "zz"`},
		{[]string{"read", "--bogus", "x"}, 2, "flag provided but not defined: -bogus (see franzfs read --help)"},
		{[]string{"nosuchcmd"}, 2, `unknown command "nosuchcmd" (see franzfs --help)`},
		{[]string{"forward", "s"}, 2, `Required flags "from, to" not set`},
		{[]string{"archive", "--compression", "xz", filepath.Join(live, "s"), filepath.Join(live, "x.squashfs")}, 2, "--compression xz: franzfs writes gzip or none"},
		{[]string{"read", live}, 3, live + " is a folder, not a stream"},
		{[]string{"archive", "--live", live, ".", filepath.Join(t.TempDir(), "x.squashfs")}, 2, `stream name "."`},
	}
	for _, c := range cases {
		wantError(t, exec.Command(franzfs, c.args...), c.code, c.msg)
	}
	// A second writer is refused while the first holds the stream.
	w := newEvents(t, filepath.Join(live, "locked"), 1)
	defer w.Close()
	cmd := exec.Command(franzfs, "append", "--live", live, "--index", "time=1", "locked")
	cmd.Stdin = strings.NewReader("x")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 5 || !strings.Contains(string(out), "locked by another writer (pid ") || !strings.Contains(string(out), "--server URL") {
		t.Errorf("second writer: %v: %s", err, out)
	}
	if help := run(t, "", "--help"); !strings.Contains(help, "completion") {
		t.Errorf("franzfs --help does not list completion:\n%s", help)
	}
}

func TestCLIReadFollow(t *testing.T) {
	live := t.TempDir()
	w := newEvents(t, filepath.Join(live, "ev"), 2)
	cmd := exec.Command(franzfs, "read", "--follow", "-r", "1:", filepath.Join(live, "ev"))
	var out syncBuffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	writeEvents(t, w, 2, 4)
	waitFor(t, "followed records", 5*time.Second, func() bool { return out.String() == events(1, 2, 3) })
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Errorf("read --follow on Ctrl-C: %v", err)
	}
}

// append --lines commits lines as they arrive, not when input ends; on
// Ctrl-C it keeps the whole lines read, acknowledges them and exits 130.
func TestCLIAppendLinesInterrupted(t *testing.T) {
	live := t.TempDir()
	cmd := exec.Command(franzfs, "append", "--live", live, "--lines", "slow")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	io.WriteString(in, "a\nb\nhalf a li")
	waitFor(t, "two lines readable before input ends", 10*time.Second, func() bool {
		got, _ := exec.Command(franzfs, "read", filepath.Join(live, "slow")).Output()
		return string(got) == "a\nb\n"
	})
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 || stderr.String() != "franzfs: interrupted (interrupt)\n" {
		t.Errorf("append on Ctrl-C: exit %d, %q; want 130 and one line", code, stderr.String())
	}
	if out.String() != `{"first":0,"count":2}`+"\n" {
		t.Errorf("append on Ctrl-C acknowledged %q, want the two whole lines", out.String())
	}
	if got := run(t, "", "read", filepath.Join(live, "slow")); got != "a\nb\n" {
		t.Errorf("after Ctrl-C the stream holds %q", got)
	}
}

// wantError runs cmd and checks that it fails with exit code code and one
// line on stderr that contains msg.
func wantError(t *testing.T, cmd *exec.Cmd, code int, msg string) {
	t.Helper()
	if cmd.Stdin == nil {
		cmd.Stdin = strings.NewReader("")
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != code {
		t.Errorf("%v: %v, want exit %d: %s", cmd.Args, err, code, stderr.String())
		return
	}
	if got := stderr.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, msg) {
		t.Errorf("%v: message %q, want one line with %q", cmd.Args, got, msg)
	}
}
