package integration

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A plant is something an attacker who may write into the live root puts
// there: links out of it and special files where a stream's files go.
type plant struct {
	name   string
	stream string // the stream name the probes use
	setup  func(t *testing.T, live, outside string)
	// readsToo: readers must refuse it as well as writers. A hard link is
	// refused only by writers: reading it shows nothing the reader could
	// not read anyway, and the mount shows the file's own owner and mode.
	readsToo bool
}

func replaceWith(t *testing.T, p string, make func(string) error) {
	t.Helper()
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := make(p); err != nil {
		t.Fatal(err)
	}
}

func symlinkTo(target string) func(string) error {
	return func(p string) error { return os.Symlink(target, p) }
}

func special(mode uint32, dev int) func(string) error {
	return func(p string) error { return syscall.Mknod(p, mode|0o644, dev) }
}

var plants = []plant{
	{"payloads symlink", "s", func(t *testing.T, live, out string) {
		replaceWith(t, filepath.Join(live, "s/payloads"), symlinkTo(filepath.Join(out, "secret")))
	}, true},
	{"offsets symlink", "s", func(t *testing.T, live, out string) {
		replaceWith(t, filepath.Join(live, "s/offsets"), symlinkTo(filepath.Join(out, "stream/offsets")))
	}, true},
	{"indices symlink", "s", func(t *testing.T, live, out string) {
		replaceWith(t, filepath.Join(live, "s/indices"), symlinkTo(filepath.Join(out, "secret")))
	}, true},
	{"lock symlink", "s", func(t *testing.T, live, out string) {
		replaceWith(t, filepath.Join(live, "s/.lock"), symlinkTo(filepath.Join(out, "secret")))
	}, false},
	{"tag symlink", "s", func(t *testing.T, live, out string) {
		replaceWith(t, filepath.Join(live, "s/tags/t"), symlinkTo(filepath.Join(out, "secret")))
	}, true},
	{"tags folder symlink", "s", func(t *testing.T, live, out string) {
		os.RemoveAll(filepath.Join(live, "s/tags"))
		replaceWith(t, filepath.Join(live, "s/tags"), symlinkTo(filepath.Join(out, "tags")))
	}, true},
	{"payloads hard link", "s", func(t *testing.T, live, out string) {
		replaceWith(t, filepath.Join(live, "s/payloads"), func(p string) error { return os.Link(filepath.Join(out, "secret"), p) })
	}, false},
	{"payloads FIFO", "s", func(t *testing.T, live, out string) {
		replaceWith(t, filepath.Join(live, "s/payloads"), special(syscall.S_IFIFO, 0))
	}, true},
	{"payloads socket", "s", func(t *testing.T, live, out string) {
		replaceWith(t, filepath.Join(live, "s/payloads"), special(syscall.S_IFSOCK, 0))
	}, true},
	{"payloads device", "s", func(t *testing.T, live, out string) {
		replaceWith(t, filepath.Join(live, "s/payloads"), special(syscall.S_IFCHR, 1<<8|3)) // /dev/null's
	}, true},
	{"stream folder symlink", "ln", func(t *testing.T, live, out string) {
		replaceWith(t, filepath.Join(live, "ln"), symlinkTo(filepath.Join(out, "stream")))
	}, true},
	{"folder symlink at depth 1", "a/stream", func(t *testing.T, live, out string) {
		replaceWith(t, filepath.Join(live, "a"), symlinkTo(out))
	}, true},
	{"folder symlink at depth 2", "a/b/stream", func(t *testing.T, live, out string) {
		replaceWith(t, filepath.Join(live, "a/b"), symlinkTo(out))
	}, true},
	{"relative symlink out", "a/rel", func(t *testing.T, live, out string) {
		replaceWith(t, filepath.Join(live, "a/rel"), symlinkTo("../../outside/stream"))
	}, true},
}

// snapshot records every file under dir: its type, mode and content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		entry := fi.Mode().String()
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			entry += " " + string(data)
		}
		files[p] = entry
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// refused runs franzfs with args, which must fail within a deadline with
// exit 4 and one line naming the stream.
func refused(t *testing.T, stream string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, franzfs, args...)
	cmd.Stdin = strings.NewReader("x\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Errorf("franzfs %s hung", strings.Join(args, " "))
		return
	}
	var ee *exec.ExitError
	msg := strings.TrimSpace(stderr.String())
	if !errors.As(err, &ee) || ee.ExitCode() != 4 || strings.Count(msg, "\n") > 0 || !strings.Contains(msg, stream) || !strings.Contains(msg, "unsafe, refused") {
		t.Errorf("franzfs %s: %v, want exit 4 and one line naming %s: %s", strings.Join(args, " "), err, stream, msg)
	}
}

// Every command, the daemon and the mount refuse what is planted, each
// with a clear error, and leave the files outside the root as they were.
func TestConfinement(t *testing.T) {
	requireFUSE(t)
	for _, p := range plants {
		t.Run(strings.ReplaceAll(p.name, " ", "_"), func(t *testing.T) {
			top := t.TempDir()
			live, out := filepath.Join(top, "live"), filepath.Join(top, "outside")
			run(t, "hello\n", "append", "--live", live, "--tag", "t", "s")
			run(t, "good\n", "append", "--live", live, "good")
			run(t, "other\n", "append", "--live", out, "--tag", "t", "stream")
			if err := os.WriteFile(filepath.Join(out, "secret"), []byte("top secret\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			os.MkdirAll(filepath.Join(out, "tags"), 0o755)
			os.WriteFile(filepath.Join(out, "tags/t"), make([]byte, 8), 0o644)
			p.setup(t, live, out)
			before := snapshot(t, out)

			refused(t, p.stream, "append", "--live", live, "--tag", "t", p.stream)
			if p.readsToo {
				if !strings.HasPrefix(p.name, "tag") { // read of all records reads no tags
					refused(t, p.stream, "read", "--live", live, p.stream)
				}
				refused(t, p.stream, "info", "--live", live, p.stream)
				refused(t, p.stream, "check", "--live", live, p.stream)
				refused(t, p.stream, "archive", "--live", live, p.stream, filepath.Join(top, "out.squashfs"))
				if _, err := os.Stat(filepath.Join(top, "out.squashfs")); err == nil {
					t.Errorf("archive left an image")
				}
			}

			d := serve(t, "--live", live)
			if code, body := d.do(t, "POST", "/streams/"+p.stream+"?tag=t", "", "x"); code != 403 || !strings.Contains(body, "unsafe, refused") {
				t.Errorf("POST: %d %q, want 403", code, body)
			}
			if p.readsToo {
				if code, body := d.do(t, "GET", "/streams/"+p.stream+"/stat.json", "", ""); code != 403 {
					t.Errorf("GET stat.json: %d %q, want 403", code, body)
				}
			}
			if code, body := d.do(t, "GET", "/streams/good/seq/0", "", ""); code != 200 || body != "good\n" {
				t.Errorf("another stream: %d %q", code, body)
			}

			m := mount(t, "--live", live)
			if p.readsToo {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				cmd := exec.CommandContext(ctx, "cat", m.path(p.stream, "stat.json"), m.path(p.stream, "payloads"))
				cmd.Dir = os.TempDir()
				if outb, err := cmd.CombinedOutput(); err == nil || ctx.Err() != nil {
					t.Errorf("cat in the mount: %v: %s", err, outb)
				}
				cancel()
			}
			if got := sh(t, "cat "+m.path("good", "seq", "0")); got != "good\n" {
				t.Errorf("another stream in the mount: %q", got)
			}
			d.do(t, "DELETE", "/streams/"+p.stream, "", "")

			if after := snapshot(t, out); !maps.Equal(before, after) {
				t.Errorf("outside the root changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}
