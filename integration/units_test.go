package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The systemd units are valid (systemd-analyze verify), and the daemon's is
// hardened: its exposure, as systemd-analyze security rates it, is printed
// for both, and must stay low for the daemon, which listens to the network.
func TestSystemdUnits(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no systemd-analyze in CI: .ci/run installs Debian's systemd package")
		}
		t.Skip("no systemd-analyze (Debian's systemd package); scripts/test.sh installs it")
	}
	dir := t.TempDir()
	units := []string{"franzfs-serve.service", "franzfs-mount.service"}
	for _, u := range units {
		data, err := os.ReadFile(filepath.Join("..", "scripts", "systemd", u))
		if err != nil {
			t.Fatal(err)
		}
		// verify checks that ExecStart's binary exists: the one under test.
		unit := strings.ReplaceAll(string(data), "/usr/local/bin/franzfs", franzfs)
		if err := os.WriteFile(filepath.Join(dir, u), []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	verify := exec.Command("systemd-analyze", append([]string{"verify"}, units...)...)
	verify.Dir = dir
	if out, err := verify.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	level := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)
	for _, u := range units {
		cmd := exec.Command("systemd-analyze", "security", "--offline=true", "--no-pager", u)
		cmd.Dir = dir
		out, _ := cmd.CombinedOutput()
		m := level.FindSubmatch(out)
		if m == nil {
			t.Errorf("systemd-analyze security %s: no exposure level in\n%s", u, out)
			continue
		}
		exposure, _ := strconv.ParseFloat(string(m[1]), 64)
		t.Logf("systemd-analyze security %s: exposure %.1f (0 safest, 10 least safe)", u, exposure)
		if u == "franzfs-serve.service" && exposure > 2.0 {
			t.Errorf("%s: exposure %.1f, want at most 2.0:\n%s", u, exposure, out)
		}
	}
}
