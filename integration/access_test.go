package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// asNobody runs a shell line as the user nobody, outside the mount.
func asNobody(line string) (string, error) {
	cmd := exec.Command("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "sh", "-c", line)
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// reachable lets every user reach dir through the test's own folders,
// which the test package makes 0700.
func reachable(t *testing.T, dir string) {
	t.Helper()
	for d := filepath.Dir(dir); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// The mount shows each stream to exactly those who may read its original:
// the owner, group and mode of the live directory and files (of the image
// file, for an archive), enforced by the kernel; other users see the mount
// only with -o allow_other.
func TestMountAccess(t *testing.T) {
	requireFUSE(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root, to read as another user")
	}
	live, archive := t.TempDir(), t.TempDir()
	run(t, "secret\n", "append", "--live", live, "private")
	run(t, "open\n", "append", "--live", live, "public")
	run(t, "mine\n", "append", "--live", live, "nobodys")
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{{"private", 0o700}, {"private/payloads", 0o600}, {"private/offsets", 0o600}, {"private/indices", 0o600},
		{"nobodys", 0o700}} {
		if err := os.Chmod(filepath.Join(live, c.path), c.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Lchown(filepath.Join(live, "nobodys"), 65534, 65534); err != nil {
		t.Fatal(err)
	}
	os.Chmod(live, 0o755)
	image := filepath.Join(archive, "old.squashfs")
	run(t, "", "archive", "--live", live, "public", image)
	os.Chmod(image, 0o600)

	m := mount(t, "-o", "allow_other", "--live", live, "--archive", archive)
	reachable(t, m.dir)
	for _, c := range []struct{ path, want string }{
		{"private", "0 0 500 directory"},
		{"private/seq", "0 0 500 directory"},
		{"private/seq/0", "0 0 400 regular file"},
		{"private/payloads", "0 0 400 regular file"},
		{"private/follow", "0 0 400 regular empty file"},
		{"public/seq/0", "0 0 444 regular file"},
		{"nobodys", "65534 65534 500 directory"},
		{"old", "0 0 500 directory"},
		{"old/seq/0", "0 0 400 regular file"},
	} {
		if got := strings.TrimSpace(sh(t, "stat -c '%u %g %a %F' "+m.path(c.path))); got != c.want {
			t.Errorf("stat %s: %q, want %q", c.path, got, c.want)
		}
	}
	for _, c := range []struct {
		path string
		ok   bool
	}{
		{"private/seq/0", false}, {"private/payloads", false}, {"private/stat.json", false},
		{"public/seq/0", true}, {"public/payloads", true},
		{"old/seq/0", false},
	} {
		out, err := asNobody("cat " + m.path(c.path))
		if (err == nil) != c.ok || (!c.ok && !strings.Contains(out, "Permission denied")) {
			t.Errorf("nobody cat %s: %v %q, want allowed=%v", c.path, err, out, c.ok)
		}
	}
	// nobody may search nobodys' directory, but the files inside are root's
	// 0644: what the originals allow, no more, no less.
	if out, err := asNobody("ls " + m.path("nobodys") + " && cat " + m.path("nobodys", "seq", "0")); err != nil || !strings.Contains(out, "mine") {
		t.Errorf("nobody reads its own stream: %v %q", err, out)
	}
	// chmod of the originals shows at once.
	os.Chmod(image, 0o644)
	if out, err := asNobody("cat " + m.path("old", "seq", "0")); err != nil || out != "open\n" {
		t.Errorf("nobody cat old/seq/0 after chmod 644 of the image: %v %q", err, out)
	}
	if got := sh(t, "cat "+m.path("private", "seq", "0")); got != "secret\n" {
		t.Errorf("root cat private/seq/0: %q", got)
	}

	// Without allow_other, no other user sees the mount at all.
	m2 := mount(t, "--live", live)
	reachable(t, m2.dir)
	if out, err := asNobody("ls " + m2.path("public")); err == nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("nobody ls without allow_other: %v %q", err, out)
	}
}
