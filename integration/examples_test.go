package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/franzfs/franzfs/store"
)

// example runs scripts/examples/NAME with args, franzfs on its PATH.
func example(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join("..", "scripts", "examples", name), args...)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(franzfs)+":"+os.Getenv("PATH"))
	return cmd
}

// follow-errors.sh prints the error records of every stream as they come,
// streams created after it started included, and nothing else.
func TestExampleFollowErrors(t *testing.T) {
	live := t.TempDir()
	a := newEvents(t, filepath.Join(live, "app/a"), 5) // record 3 is an old error
	b := newEvents(t, filepath.Join(live, "b"), 1)
	m := mount(t, "--live", live)
	cmd := example("follow-errors.sh", m.dir)
	cmd.Env = append(cmd.Env, "FOLLOW_ERRORS_RESCAN=0.2")
	var out syncBuffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("follow-errors.sh printed:\n%s", out.String())
		}
	}()
	waitFor(t, "a tail of each stream", 5*time.Second, func() bool {
		out, _ := exec.Command("pgrep", "-c", "-f", "tail -n 0 -F "+m.dir).Output()
		return strings.TrimSpace(string(out)) == "2"
	})
	writeEvents(t, a, 5, 20) // errors 13
	writeEvents(t, b, 1, 4)  // error 3
	newEvents(t, filepath.Join(live, "later"), 14)
	want := []string{"app/a: " + event(13), "b: " + event(3), "later: " + event(3) + "later: " + event(13)}
	waitFor(t, "the new errors of every stream", 10*time.Second, func() bool {
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				return false
			}
		}
		return true
	})
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("follow-errors.sh on SIGTERM: %v", err)
	}
	if got := strings.Count(out.String(), "\n"); got != 4 || strings.Contains(out.String(), "level=info") {
		t.Errorf("printed %d lines, want exactly the 4 new errors:\n%s", got, out.String())
	}
}

// export-window.sh writes a time window as JSON lines through jq.
func TestExampleExportWindow(t *testing.T) {
	live := t.TempDir()
	w, err := store.OpenWriter(filepath.Join(live, "app/ev"), store.WriterOptions{Create: true, Indices: []string{"time"}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	day := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for h, payload := range []string{`{"msg":"midnight"}`, `{"msg":"one","n":1}`, "plain text", `[1,2]`, `{"msg":"four"}`} {
		rec := store.Record{Payload: []byte(payload + "\n"), Index: []int64{day.Add(time.Duration(h) * time.Hour).UnixNano()}}
		if _, err := w.Append(rec); err != nil {
			t.Fatal(err)
		}
	}
	m := mount(t, "--live", live)
	out, err := example("export-window.sh", m.dir, "app/ev", day.Add(time.Hour).Format(time.RFC3339), day.Add(3*time.Hour).Format(time.RFC3339)).Output()
	if err != nil {
		t.Fatalf("export-window.sh: %v", err)
	}
	want := `{"msg":"one","n":1,"stream":"app/ev"}
{"line":"plain text","stream":"app/ev"}
{"line":"[1,2]","stream":"app/ev"}
`
	if string(out) != want {
		t.Errorf("export-window.sh 01:00 to 03:00:\n%s\nwant\n%s", out, want)
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{m.dir, "app/nope", "now", "now"}, 3, "no stream app/nope under " + m.dir},
		{[]string{m.dir, "app/ev", "yesterday", "now"}, 2, "yesterday:now is not a time range the mount takes"},
	} {
		wantError(t, example("export-window.sh", c.args...), c.code, c.msg)
	}
}

// archive-yesterday.sh archives one day's streams into DAY.squashfs and
// removes the live copies it verified, keeping one a writer holds.
func TestExampleArchiveYesterday(t *testing.T) {
	live, archive := t.TempDir(), t.TempDir()
	yesterday := time.Now().AddDate(0, 0, -1).Format(time.DateOnly)
	today := time.Now().Format(time.DateOnly)
	newEvents(t, filepath.Join(live, "app", yesterday), 30).Close()
	newEvents(t, filepath.Join(live, "db", yesterday), 7).Close()
	newEvents(t, filepath.Join(live, "app", today), 3).Close()
	held := newEvents(t, filepath.Join(live, "busy", yesterday), 2) // a writer still has it

	out, err := example("archive-yesterday.sh", live, archive).CombinedOutput()
	if err != nil {
		t.Fatalf("archive-yesterday.sh: %v: %s", err, out)
	}
	for _, line := range []string{
		"app/" + yesterday + ": 30 records archived in " + archive + "/" + yesterday + ".squashfs, live copy removed",
		"db/" + yesterday + ": 7 records archived in",
		"busy/" + yesterday + ": kept live: a writer has it open (pid ",
	} {
		if !strings.Contains(string(out), line) {
			t.Errorf("output lacks %q:\n%s", line, out)
		}
	}
	for dir, want := range map[string]bool{"app/" + yesterday: false, "db/" + yesterday: false, "app/" + today: true, "busy/" + yesterday: true} {
		if _, err := os.Stat(filepath.Join(live, dir)); (err == nil) != want {
			t.Errorf("live %s exists: %v, want %v", dir, err == nil, want)
		}
	}
	// The image holds the removed streams whole, for unsquashfs and the mount.
	image := filepath.Join(archive, yesterday+".squashfs")
	if list, err := exec.Command("unsquashfs", "-l", image).Output(); err != nil || !strings.Contains(string(list), "db/"+yesterday+"/payloads") {
		t.Errorf("unsquashfs -l: %v: %s", err, list)
	}
	var info struct{ Records int64 }
	json.Unmarshal([]byte(run(t, "", "info", "--json", image+"/app/"+yesterday)), &info)
	if info.Records != 30 {
		t.Errorf("archived app/%s has %d records", yesterday, info.Records)
	}
	held.Close()
	wantError(t, example("archive-yesterday.sh", live, archive, "2026-13-01"), 2, "day 2026-13-01 is not a date (YYYY-MM-DD)")
}
