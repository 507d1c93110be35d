package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// viewPaths are the views compared between a live stream and its archive.
var viewPaths = []string{
	"payloads", "offsets", "indices", "seq/0", "seq/-1", "seq/_3", "seq/5:9", "seq/:4", "seq/30:", "seq/-5:",
	"index/time/5000:15000", "index/time/:3000", "index/time/35000:", "tag/even", "tag/error",
	"query/even+error", "query/error,even",
}

// An archived stream is, through the mount, identical to the live stream
// it was made from: every view, byte for byte, whether franzfs or
// mksquashfs made the image.
func TestMountArchiveEqualsLive(t *testing.T) {
	live, arch := t.TempDir(), t.TempDir()
	newEvents(t, filepath.Join(live, "app", "ev"), 40)
	newEvents(t, filepath.Join(live, "app", "other"), 3)
	// Times as of an append long ago, which archives keep.
	appended := time.Date(2021, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, name := range []string{"", "payloads", "offsets", "indices", "tags", "tags/even", "tags/error"} {
		if err := os.Chtimes(filepath.Join(live, "app", "ev", name), appended, appended); err != nil {
			t.Fatal(err)
		}
	}
	run(t, "", "archive", "--live", live, "--verify", "app/ev", filepath.Join(arch, "franz.squashfs"))
	run(t, "", "archive", "--live", live, "--compression", "none", "app/ev", filepath.Join(arch, "plain.squashfs"))
	for _, comp := range []string{"gzip", "xz", "zstd"} {
		out, err := exec.Command("mksquashfs", filepath.Join(live, "app", "ev"), filepath.Join(arch, "mk-"+comp+".squashfs"), "-comp", comp, "-quiet", "-no-progress").CombinedOutput()
		if err != nil {
			t.Fatalf("mksquashfs %s: %v: %s", comp, err, out)
		}
	}
	// A folder of streams in one image.
	run(t, "", "archive", "--live", live, "app/ev", "app/other", filepath.Join(arch, "both.squashfs"))
	m := mount(t, "--live", live, "--archive", arch)
	if got := sh(t, "ls "+m.dir); got != "app\nboth\nfranz\nmk-gzip\nmk-xz\nmk-zstd\nplain\n" {
		t.Fatalf("ls: %q", got)
	}
	for _, name := range []string{"franz", "plain", "mk-gzip", "mk-xz", "mk-zstd", "both/app/ev"} {
		for _, v := range viewPaths {
			sh(t, "cmp "+m.path("app", "ev", v)+" "+m.path(name, v))
		}
	}
	// The stream, its files and its views show when it was last appended
	// to, live and archived alike, and one link each.
	want := fmt.Sprintf("%d 1\n", appended.Unix())
	for _, name := range []string{"app/ev", "franz", "plain", "mk-gzip", "both/app/ev"} {
		for _, p := range []string{"", "payloads", "offsets", "seq/0", "seq/5:9", "tag/even", "query/even+error"} {
			if got := sh(t, "stat -c '%Y %h' "+m.path(name, p)); got != want {
				t.Errorf("%s/%s: time and links %q, want %q", name, p, got, want)
			}
		}
	}
	if got := sh(t, "cat "+m.path("franz", "stat.json")); !strings.Contains(got, `"live": false`) || !strings.Contains(got, `"records": 40`) {
		t.Errorf("archived stat.json: %s", got)
	}
	// An archived stream never grows: follow waits until interrupted.
	cmd := exec.Command("timeout", "-s", "INT", "1", "cat", m.path("franz", "follow"))
	if out, _ := cmd.Output(); len(out) != 0 {
		t.Errorf("follow of an archive gave %q", out)
	}
	for _, line := range []string{"touch " + m.path("franz", "x"), "rm " + m.path("franz", "payloads")} {
		if out := shFails(t, line); !strings.Contains(out, "Read-only file system") {
			t.Errorf("%s: %q", line, out)
		}
	}
	// read and info take an image as well.
	if got, want := run(t, "", "read", "-r", "5:9", filepath.Join(arch, "mk-zstd.squashfs")), events(5, 6, 7, 8, 9); got != want {
		t.Errorf("read image: %q", got)
	}
	if got := run(t, "", "info", filepath.Join(arch, "both.squashfs", "app", "ev")); !strings.Contains(got, "records     40") {
		t.Errorf("info image: %q", got)
	}
}

// Images added or removed after the mount appear or vanish; an archive
// wins over a live stream of the same name; a damaged image is EIO, named
// in the log, while the rest works.
func TestMountArchivesComeAndGo(t *testing.T) {
	live, arch := t.TempDir(), t.TempDir()
	newEvents(t, filepath.Join(live, "ev"), 10)
	newEvents(t, filepath.Join(live, "src"), 3)
	m := mount(t, "--live", live, "--archive", arch)
	if got := sh(t, "cat "+m.path("ev", "seq", "-1")); got != events(9) {
		t.Fatalf("live ev: %q", got)
	}
	run(t, "", "archive", "--live", live, "src", filepath.Join(arch, "ev.squashfs"))
	run(t, "", "archive", "--live", live, "src", filepath.Join(arch, "new.squashfs"))
	waitFor(t, "the archive to win over the live ev", 5*time.Second, func() bool {
		out, _ := exec.Command("cat", m.path("ev", "seq", "-1")).Output()
		return string(out) == events(2)
	})
	if got := sh(t, "cat "+m.path("new", "seq", "0:")); got != events(0, 1, 2) {
		t.Fatalf("new image: %q", got)
	}
	os.Remove(filepath.Join(arch, "new.squashfs"))
	waitFor(t, "the removed image to vanish", 5*time.Second, func() bool {
		_, err := os.Stat(m.path("new"))
		return os.IsNotExist(err) && !strings.Contains(sh(t, "ls "+m.dir), "new")
	})
	os.WriteFile(filepath.Join(arch, "bad.squashfs"), []byte("hsqs not really an image"), 0o644)
	waitFor(t, "the damaged image to be listed", 5*time.Second, func() bool { return strings.Contains(sh(t, "ls "+m.dir), "bad") })
	if out := shFails(t, "ls "+m.path("bad")); !strings.Contains(out, "Input/output error") {
		t.Errorf("damaged image: %q", out)
	}
	waitFor(t, "a log line naming the damaged image", 2*time.Second, func() bool { return strings.Contains(m.log.String(), "bad.squashfs") })
	if got := sh(t, "cat "+m.path("src", "seq", "0")); got != events(0) {
		t.Errorf("live stream beside a damaged image: %q", got)
	}
}
