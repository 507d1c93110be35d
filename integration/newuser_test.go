package integration

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The errors a new user meets first each print one line that says what to
// do, with the exit code the README documents.
func TestNewUserErrors(t *testing.T) {
	live := t.TempDir()
	newEvents(t, filepath.Join(live, "ev"), 1).Close()
	missing := filepath.Join(t.TempDir(), "nope")
	cases := []struct {
		what string
		cmd  *exec.Cmd
		code int
		msg  string
	}{
		{"mount point missing", exec.Command(franzfs, "mount", "--live", live, missing), 3,
			"mount point " + missing + " does not exist: create it (mkdir -p " + missing + ")"},
		{"live root missing", exec.Command(franzfs, "mount", "--live", missing, t.TempDir()), 3,
			"live root " + missing + " does not exist: create it"},
		{"stream missing", exec.Command(franzfs, "read", "--live", live, "evs"), 3,
			"no stream " + filepath.Join(live, "evs") + ": check the name (ls " + live + "), or create it with franzfs append"},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cases = append(cases, struct {
		what string
		cmd  *exec.Cmd
		code int
		msg  string
	}{"port taken", exec.Command(franzfs, "serve", "--live", live, "--listen", ln.Addr().String()), 5,
		"address " + ln.Addr().String() + " is in use: is a franzfs serve running already? Stop it, or give --listen another port"})
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) { wantError(t, c.cmd, c.code, c.msg) })
	}

	t.Run("mount point busy", func(t *testing.T) {
		requireFUSE(t)
		m := mount(t, "--live", live)
		defer m.stop(t)
		wantError(t, exec.Command(franzfs, "mount", "--live", live, m.dir), 5,
			"mount point "+m.dir+" is already mounted (fuse.franzfs franzfs): unmount it first (umount "+m.dir+")")
	})
	t.Run("no /dev/fuse", func(t *testing.T) {
		asRoot(t)
		if out, err := exec.Command("unshare", "-m", "true").CombinedOutput(); err != nil {
			t.Skipf("no mount namespace to hide /dev/fuse in: %v: %s", err, out)
		}
		// A mount namespace whose /dev is empty: the container without --device.
		wantError(t, exec.Command("unshare", "-m", "sh", "-c", `mount -t tmpfs none /dev && exec "$0" "$@"`,
			franzfs, "mount", "--live", live, t.TempDir()), 6,
			"no /dev/fuse: this kernel or container has no FUSE (try modprobe fuse; give a container --device /dev/fuse)")
	})
	t.Run("no permission", func(t *testing.T) {
		requireFUSE(t)
		asRoot(t)
		if _, err := exec.LookPath("setpriv"); err != nil {
			t.Skip("no setpriv to run as nobody")
		}
		os.Chmod(filepath.Dir(franzfs), 0o755)
		nobody := func(args ...string) *exec.Cmd {
			return exec.Command("setpriv", append([]string{"--reuid=nobody", "--regid=nogroup", "--clear-groups", franzfs}, args...)...)
		}
		// t.TempDir is root's alone.
		wantError(t, nobody("mount", "--live", live, t.TempDir()), 6,
			"live root "+live+": permission denied: run as a user who can read it")

		open := worldReadable(t)
		if fi, _ := os.Stat("/dev/fuse"); fi.Mode().Perm()&0o006 != 0o006 {
			wantError(t, nobody("mount", "--live", open, worldReadable(t)), 6,
				"no permission to use /dev/fuse: mount as root, or make it usable (chmod 0666 /dev/fuse)")
			return
		}
		mnt := worldReadable(t)
		wantError(t, nobody("mount", "--live", open, mnt), 6,
			"no permission to mount on "+mnt+": use a directory you own, or mount as root")
	})
}

func asRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// worldReadable is a new directory anyone may read but only root write.
func worldReadable(t *testing.T) string {
	dir, err := os.MkdirTemp("", "franzfs-open-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	return dir
}
