package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mount -t fuse.franzfs, from the command line and from an fstab line,
// mounts through scripts/mount.fuse.franzfs, and umount stops it.
func TestMountHelper(t *testing.T) {
	requireFUSE(t)
	if os.Geteuid() != 0 {
		t.Skip("installing a mount helper in /sbin needs root")
	}
	helper := "/sbin/mount.fuse.franzfs"
	if _, err := os.Stat(helper); err == nil {
		t.Skipf("%s exists already; not replacing it", helper)
	}
	src, _ := os.ReadFile("../scripts/mount.fuse.franzfs")
	if err := os.WriteFile(helper, src, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(helper)
	live, arch := t.TempDir(), t.TempDir()
	newEvents(t, filepath.Join(live, "ev"), 3)
	run(t, "", "archive", "--live", live, "ev", filepath.Join(arch, "old.squashfs"))
	env := append(os.Environ(), "FRANZFS="+franzfs, "FRANZFS_MOUNT_LOG="+filepath.Join(t.TempDir(), "log"))

	mnt := t.TempDir()
	fstab := filepath.Join(t.TempDir(), "fstab")
	os.WriteFile(fstab, []byte(live+" "+mnt+" fuse.franzfs archive="+arch+",nofail 0 0\n"), 0o644)
	for _, args := range [][]string{
		{"-t", "fuse.franzfs", live, mnt, "-o", "archive=" + arch},
		{"-T", fstab, mnt},
	} {
		cmd := exec.Command("mount", args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mount %v: %v: %s", args, err, out)
		}
		if got := sh(t, "cat "+filepath.Join(mnt, "ev", "seq", "0")+" "+filepath.Join(mnt, "old", "seq", "-1")); got != events(0, 2) {
			t.Errorf("mount %v: %q", args, got)
		}
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Fatalf("umount: %v: %s", err, out)
		}
		waitFor(t, "the mount process to end", 5*time.Second, func() bool {
			out, _ := exec.Command("pgrep", "-f", "franzfs mount .*"+mnt).Output()
			return strings.TrimSpace(string(out)) == ""
		})
	}
}

// The CLI prints shell completion.
func TestCompletion(t *testing.T) {
	if got := run(t, "", "completion", "bash"); !strings.Contains(got, "franzfs") {
		t.Errorf("completion bash: %.80q", got)
	}
}
