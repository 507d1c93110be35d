package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A step says how the README's command line is run and what it must print.
// Paths under /srv, /mnt and /etc, and the ports 7070, 7071, 7072 and 1886, are moved
// into a scratch root and to free ports, in the line and in what it prints.
type step struct {
	skip string // why it is not run here, and what runs it

	background bool   // runs (without its &) until its block ends
	ready      string // a background step's line that says it serves

	// An endless command is stopped after it printed want; during runs
	// while it waits, once one of its processes holds follows open (a path,
	// or "socket:" for a connection to the daemon).
	endless bool
	follows string
	during  string

	want       string   // the whole output, when it is known
	contains   []string // parts of the output
	eventually bool     // run again until the output is right, up to 15 s
}

// readme is every command line of README.md's sh blocks, in order.
var readme = map[string]step{
	"scripts/demo.sh":                   {skip: "TestDemo runs it"},
	"scripts/test.sh":                   {skip: ".ci/run runs it, and it runs this test"},
	"go build -o franzfs ./cmd/franzfs": {},
	`echo '{"level":"error","msg":"db down"}' | ./franzfs append --live /srv/live --tag error --tag db app/events`: {want: `{"first":0,"count":1}` + "\n"},
	`seq 1 5 | ./franzfs append --live /srv/live --lines app/events`:                                               {want: `{"first":1,"count":5}` + "\n"},
	`./franzfs read /srv/live/app/events`:                                                                          {want: `{"level":"error","msg":"db down"}` + "\n1\n2\n3\n4\n5\n"},
	`./franzfs read -r -2: /srv/live/app/events`:                                                                   {want: "4\n5\n"},
	`./franzfs info /srv/live/app/events`:                                                                          {contains: []string{"records     6\n", "tag db      1 records\n", "tag error   1 records\n"}},
	`./franzfs check /srv/live/app/events`:                                                                         {want: "ok: /srv/live/app/events: 6 records\n"},
	`mkdir -p /mnt/franz /srv/archive`:                                                                             {},
	`./franzfs mount --live /srv/live --archive /srv/archive /mnt/franz &`:                                         {background: true, ready: "ready: /mnt/franz"},
	`ls /mnt/franz/app/events`:                                                                                     {want: "follow\nindex\nindices\noffsets\npayloads\nquery\nseq\nstat.json\ntag\n"},
	`cat /mnt/franz/app/events/seq/-1`:                                                                             {want: "5\n"},
	`cat /mnt/franz/app/events/index/time/-15m:`:                                                                   {want: `{"level":"error","msg":"db down"}` + "\n1\n2\n3\n4\n5\n"},
	`cat /mnt/franz/app/events/query/error+db`:                                                                     {want: `{"level":"error","msg":"db down"}` + "\n"},
	`tail -f /mnt/franz/app/events/seq/-1:`:                                                                        {endless: true, follows: "/mnt/franz/app/events/seq/-1:", during: "echo 6 | ./franzfs append --live /srv/live app/events", want: "5\n6\n"},
	`cat /mnt/franz/app/events/follow`:                                                                             {endless: true, follows: "/mnt/franz/app/events/follow", during: "echo 7 | ./franzfs append --live /srv/live app/events", want: "7\n"},
	`./franzfs archive --live /srv/live app/events /srv/archive/events.squashfs`:                                   {want: `{"app/events":8}` + "\n"},
	`ls /mnt/franz`:                 {want: "app\nevents\n", eventually: true},
	`cat /mnt/franz/events/seq/-2:`: {want: "6\n7\n"},

	`install -m 755 scripts/mount.fuse.franzfs /sbin/`:                                    {},
	`mount -t fuse.franzfs /srv/live /mnt/franz -o archive=/srv/archive && ls /mnt/franz`: {want: "app\nevents\n"},
	`umount /mnt/franz`: {},
	`echo '/srv/live /mnt/franz fuse.franzfs archive=/srv/archive,nofail 0 0' >> /etc/fstab`: {},
	`cp scripts/systemd/franzfs-*.service /etc/systemd/system/`:                              {},
	`source <(franzfs completion bash)`:                                                      {},

	`franzfs mount --live /srv/live --archive /srv/archive /mnt/franz &`: {background: true, ready: "ready: /mnt/franz"},
	`scripts/examples/follow-errors.sh /mnt/franz`: {endless: true, follows: "/mnt/franz/app/events/tag/error", during: `echo '{"level":"error"}' | franzfs append --live /srv/live --tag error app/events`,
		want: `app/events: {"level":"error"}` + "\n"},
	`scripts/examples/export-window.sh /mnt/franz app/events -1h now`: {contains: []string{
		`{"level":"error","msg":"db down","stream":"app/events"}`, `{"line":"7","stream":"app/events"}`}},
	`scripts/examples/export-window.sh /mnt/franz app/events -48h -24h`: {want: ""}, // nothing in the day before
	`scripts/examples/archive-yesterday.sh /srv/live /srv/archive`:      {contains: []string{"no streams of "}},

	`echo '{"user":"ann","action":"login"}' | franzfs append --live /srv/live app/audit`:               {want: `{"first":0,"count":1}` + "\n"},
	`franzfs archive --live /srv/live app/events /srv/archive/events-2026-11.squashfs`:                 {want: `{"app/events":9}` + "\n"},
	`franzfs archive --live /srv/live --verify app/events app/audit /srv/archive/app-2026-11.squashfs`: {want: `{"app/audit":1,"app/events":9}` + "\n"},
	`franzfs read -r -5: /srv/archive/events-2026-11.squashfs`:                                         {want: "4\n5\n6\n7\n" + `{"level":"error"}` + "\n"},
	`franzfs info /srv/archive/app-2026-11.squashfs/app/audit`:                                         {contains: []string{"records     1\n", "(archived)"}},
	`mkdir -p /mnt/x && mount -t squashfs -o loop,ro /srv/archive/app-2026-11.squashfs /mnt/x`:         {},
	`ls /mnt/x/app && umount /mnt/x`:                                                                   {want: "audit\nevents\n"},

	`franzfs serve --live /srv/live --sync batch &`: {background: true, ready: "ready: 127.0.0.1:7070"},
	`echo '{"level":"error","msg":"disk full"}' | curl --data-binary @- 'localhost:7070/streams/app/events?tag=error&tag=db'`: {want: `{"first":9,"count":1}` + "\n"},
	`printf 'line 1\nline 2\n' | curl --data-binary @- 'localhost:7070/streams/app/log?lines'`:                                {want: `{"first":0,"count":2}` + "\n"},
	`curl --data-binary 21.5 'localhost:7070/streams/sensors/room1?index.temp=215'`:                                           {want: `{"first":0,"count":1}` + "\n"},
	`printf '%s\n' '{"text":"a\n","tags":["x"],"index":{"n":6}}' '{"payload":"AAEC/w==","index":{"n":7}}' |
  curl -H 'Content-Type: application/x-ndjson' --data-binary @- localhost:7070/streams/mixed`: {want: `{"first":0,"count":2}` + "\n"},
	`curl localhost:7070/streams`:                                                {contains: []string{`"name": "app/events"`, `"name": "app/log"`, `"name": "mixed"`}},
	`curl localhost:7070/streams/app/events`:                                     {contains: []string{`"records": 10`}},
	`curl localhost:7070/streams/app/events/seq/-10:`:                            {want: `{"level":"error","msg":"db down"}` + "\n1\n2\n3\n4\n5\n6\n7\n" + `{"level":"error"}` + "\n" + `{"level":"error","msg":"disk full"}` + "\n"},
	`curl 'localhost:7070/streams/app/events/tag/error?format=json'`:             {contains: []string{`"seq":0,`, `"seq":8,`, `"seq":9,`, `"tags":["db","error"]`}},
	`curl -N localhost:7070/streams/app/events/follow`:                           {endless: true, follows: "socket:", during: "echo 8 | curl -s --data-binary @- localhost:7070/streams/app/events", want: "8\n"},
	`curl -X DELETE localhost:7070/streams/app/log`:                              {want: ""},
	`curl localhost:7070/healthz; curl localhost:7070/metrics`:                   {contains: []string{"ok\n", `franzfs_appended_records_total{stream="mixed"} 2`}},
	`echo hi | franzfs append --server http://localhost:7070 --tag x app/events`: {want: `{"first":11,"count":1}` + "\n"},
	`franzfs read --server http://localhost:7070 -r -5: app/events`:              {want: "7\n" + `{"level":"error"}` + "\n" + `{"level":"error","msg":"disk full"}` + "\n8\nhi\n"},

	`mkdir -p /srv/s3/history /mnt/history`:                                                                      {},
	`versitygw --access demo --secret demo-secret-key --port 127.0.0.1:7072 posix /srv/s3 &`:                     {background: true},
	`export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo-secret-key AWS_ENDPOINT_URL=http://127.0.0.1:7072`: {}, // the test's environment has them
	`franzfs archive --live /srv/live app/events s3://history/app/events-2026-11.squashfs`:                       {want: `{"app/events":9}` + "\n", eventually: true},
	`franzfs mount --archive s3://history/app/ /mnt/history &`:                                                   {background: true, ready: "ready: /mnt/history"},
	`cat /mnt/history/events-2026-11/seq/-2:`:                                                                    {want: "7\n" + `{"level":"error"}` + "\n"},
	`franzfs read -r -1 s3://history/app/events-2026-11.squashfs`:                                                {want: `{"level":"error"}` + "\n"},

	`franzfs serve --live /srv/live --listen none --franzd :1886 &`:                           {background: true, ready: "franzd: 127.0.0.1:1886"},
	`franzfs read franz://localhost:1886/app events -r -2:-1`:                                 {want: "8\nhi\n"},
	`franzfs read --framed franz://localhost:1886/ app/events -r 0 | od -A d -t x1 | head -1`: {want: "0000000 22 00 00 00 00 00 00 00 7b 22 6c 65 76 65 6c 22\n"},

	`mkdir -p /srv/remote /srv/gateway /mnt/gateway`:                                                                       {},
	`franzfs serve --live /srv/remote --listen 127.0.0.1:7070 &`:                                                           {background: true, ready: "ready: 127.0.0.1:7070"},
	`franzfs serve --live /srv/gateway --listen 127.0.0.1:7071 &`:                                                          {background: true, ready: "ready: 127.0.0.1:7071"},
	`seq 0 4999 | curl --data-binary @- 'localhost:7070/streams/sensors/room1?lines'`:                                      {want: `{"first":0,"count":5000}` + "\n"},
	`franzfs forward --from http://127.0.0.1:7070 --to http://127.0.0.1:7071 --every 10 sensors/room1 &`:                   {background: true},
	`franzfs forward --from http://127.0.0.1:7070 --to http://127.0.0.1:7071 --bucket 1m sensors/room1 sensors/room1-1m &`: {background: true},
	`franzfs mount --live /srv/gateway /mnt/gateway &`:                                                                     {background: true, ready: "ready: /mnt/gateway"},
	`cat /mnt/gateway/sensors/room1/index/src/1000:1050`:                                                                   {want: "1000\n1010\n1020\n1030\n1040\n1050\n", eventually: true},
}

// Every command of README.md runs, in order, and prints what it says:
// the README cannot go stale.
func TestReadme(t *testing.T) {
	requireFUSE(t)
	asRoot(t)
	blocks := readmeBlocks(t)
	seen := map[string]bool{}
	for _, block := range blocks {
		for _, line := range block {
			if _, ok := readme[line]; !ok {
				t.Errorf("README.md command without a step in TestReadme: %s", line)
			}
			seen[line] = true
		}
	}
	for line := range readme {
		if !seen[line] {
			t.Errorf("TestReadme step for a command no longer in README.md: %s", line)
		}
	}
	if t.Failed() {
		return
	}

	repo, _ := filepath.Abs("..")
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc/systemd/system"), 0o755)
	port1, port2 := port(t), port(t)
	port3, port4 := port(t), port(t)
	ports := strings.NewReplacer(":7070", ":"+port1, ":7071", ":"+port2, ":1886", ":"+port3, ":7072", ":"+port4)
	paths := strings.NewReplacer("/srv/", root+"/srv/", "/mnt/", root+"/mnt/", "/etc/", root+"/etc/")
	sub := func(s string) string { return paths.Replace(ports.Replace(s)) }
	env := append(os.Environ(), "PATH="+repo+":"+os.Getenv("PATH")+":"+filepath.Join(os.Getenv("HOME"), "go", "bin"), "FRANZFS_MOUNT_LOG="+filepath.Join(root, "mount.log"),
		// Where the mount helper finds franzfs, which the README installs in /usr/local/bin.
		"FRANZFS="+filepath.Join(repo, "franzfs"),
		// Where franzfs serve listens when the README does not say.
		"FRANZFS_LISTEN=127.0.0.1:"+port1,
		// The keys the README exports for its self-hosted store.
		"AWS_ACCESS_KEY_ID=demo", "AWS_SECRET_ACCESS_KEY=demo-secret-key", "AWS_ENDPOINT_URL=http://127.0.0.1:"+port4)
	// The tour builds ./franzfs and installs the mount helper for real.
	t.Cleanup(keepFile(filepath.Join(repo, "franzfs")))
	t.Cleanup(keepFile("/sbin/mount.fuse.franzfs"))
	t.Cleanup(func() {
		for _, m := range mountsUnder(root) {
			syscall.Unmount(m, syscall.MNT_DETACH)
		}
	})

	for _, block := range blocks {
		var background []*exec.Cmd
		for _, line := range block {
			st := readme[line]
			if st.skip != "" {
				continue
			}
			cmdline := sub(line)
			if st.background {
				cmdline = strings.TrimSpace(regexp.MustCompile(`&\s*(#.*)?$`).ReplaceAllString(cmdline, "")) + "\nwait"
			}
			cmd := exec.Command("bash", "-c", "set -o pipefail\n"+cmdline)
			cmd.Dir, cmd.Env = repo, env
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			var out, stderr syncBuffer
			cmd.Stdout, cmd.Stderr = &out, &stderr
			check := func() bool {
				return (st.want == "" && st.contains == nil) || (st.want != "" && out.String() == sub(st.want)) ||
					(st.want == "" && containsAll(out.String(), sub, st.contains))
			}
			switch {
			case st.background:
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				background = append(background, cmd)
				t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); cmd.Wait() })
				if st.ready != "" {
					waitFor(t, line+" says "+st.ready, 20*time.Second, func() bool { return strings.Contains(out.String(), sub(st.ready)) })
				}
				continue
			case st.endless:
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				// For curl, the daemon follows from the end within a
				// microsecond of the connection; the append to come takes a
				// new process and a new connection.
				waitFor(t, line+" holds "+st.follows+" open", 10*time.Second, func() bool {
					return groupHolds(cmd.Process.Pid, sub(st.follows))
				})
				during := exec.Command("bash", "-c", sub(st.during))
				during.Dir, during.Env = repo, env
				if b, err := during.CombinedOutput(); err != nil {
					t.Errorf("%s: while it runs, %s: %v: %s", line, st.during, err, b)
				}
				deadline := time.Now().Add(10 * time.Second)
				for !check() && time.Now().Before(deadline) {
					time.Sleep(50 * time.Millisecond)
				}
				syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
				cmd.Wait()
			default:
				deadline := time.Now().Add(15 * time.Second)
				for {
					out.Reset()
					stderr.Reset()
					err := cmd.Run()
					if err != nil && (!st.eventually || time.Now().After(deadline)) {
						log, _ := os.ReadFile(filepath.Join(root, "mount.log"))
						t.Fatalf("README.md: %s\n%v: %s%s\nmount.log: %s", line, err, out.String(), stderr.String(), log)
					}
					if !st.eventually || (err == nil && check()) || time.Now().After(deadline) {
						break
					}
					time.Sleep(200 * time.Millisecond)
					cmd = exec.Command("bash", "-c", "set -o pipefail\n"+cmdline)
					cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = repo, env, &out, &stderr
				}
			}
			if !check() {
				t.Fatalf("README.md: %s\nprinted:\n%s\nwant: %q %q\nstderr: %s", line, out.String(), sub(st.want), st.contains, stderr.String())
			}
		}
		// A block's daemons, mounts and forwarders end with it, as on Ctrl-C.
		for _, cmd := range background {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		}
		for _, cmd := range background {
			cmd.Wait()
		}
		for _, m := range mountsUnder(root) {
			syscall.Unmount(m, 0)
		}
	}
}

// readmeBlocks returns the command lines of README.md's sh blocks, a line
// ending in | or \ joined with the next, comments after a command removed.
func readmeBlocks(t *testing.T) [][]string {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks [][]string
	var block []string
	in, pending := false, ""
	for line := range strings.Lines(string(data)) {
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "```sh":
			in, block = true, nil
		case in && line == "```":
			in = false
			blocks = append(blocks, block)
		case in && strings.TrimSpace(line) != "":
			line = pending + line
			if strings.HasSuffix(line, "|") || strings.HasSuffix(line, `\`) {
				pending = line + "\n"
				continue
			}
			pending = ""
			block = append(block, strings.TrimSpace(stripComment(line)))
		}
	}
	return blocks
}

// stripComment removes a shell comment: a # after a blank, outside quotes.
func stripComment(line string) string {
	var quote rune
	for i, c := range line {
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '#' && i > 0 && (line[i-1] == ' ' || line[i-1] == '\t'):
			return line[:i]
		}
	}
	return line
}

func containsAll(s string, sub func(string) string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, sub(p)) {
			return false
		}
	}
	return true
}

// port is a free loopback port.
func port(t *testing.T) string {
	addr := freeAddr(t)
	return addr[strings.LastIndex(addr, ":")+1:]
}

// groupHolds reports whether a process of process group pgid has an open
// file descriptor to target, or whose link starts with it ("socket:").
func groupHolds(pgid int, target string) bool {
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		stat, err := os.ReadFile("/proc/" + p.Name() + "/stat")
		if err != nil {
			continue
		}
		// PID (COMM) STATE PPID PGRP ...; COMM may hold spaces.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 3 || fields[2] != strconv.Itoa(pgid) {
			continue
		}
		fds, _ := os.ReadDir("/proc/" + p.Name() + "/fd")
		for _, fd := range fds {
			if link, err := os.Readlink("/proc/" + p.Name() + "/fd/" + fd.Name()); err == nil && strings.HasPrefix(link, target) {
				return true
			}
		}
	}
	return false
}

// mountsUnder lists the mount points under dir, deepest first.
func mountsUnder(dir string) []string {
	data, _ := os.ReadFile("/proc/self/mounts")
	var out []string
	for line := range strings.Lines(string(data)) {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			out = append([]string{f[1]}, out...)
		}
	}
	return out
}

// keepFile saves path, which the test may replace, and returns what puts
// it back (or removes it, if it was not there).
func keepFile(path string) func() {
	old, err := os.ReadFile(path)
	had := err == nil
	return func() {
		if had {
			os.WriteFile(path, old, 0o755)
		} else {
			os.Remove(path)
		}
	}
}

// The demo, run without a terminal, takes its tour and leaves nothing
// behind: no mount, no daemon, no files.
func TestDemo(t *testing.T) {
	requireFUSE(t)
	asRoot(t)
	cmd := exec.Command("../scripts/demo.sh")
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo.sh: %v\n%s", err, out)
	}
	work := regexp.MustCompile(`writing to (/tmp/franzfs-demo\.\w+)/live`).FindStringSubmatch(string(out))
	if work == nil {
		t.Fatalf("demo.sh did not say where it works:\n%s", out)
	}
	for _, want := range []string{
		"\n$ cat app/events/query/error+db\n" + `{"n":14,"level":"error","msg":"request 14"}` + "\n",
		"\n$ cat room1-old/seq/-3:          # an archived stream reads as a live one\n23.5 C\n24.5 C\n25.5 C\n",
		"/streams/sensors/room1/seq/-1\n25.5 C\n",
		`{"n":21,"level":"info","msg":"request 21"}`, // tail -f saw the writer's record
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo.sh output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(work[1]); !os.IsNotExist(err) {
		t.Errorf("demo.sh left %s behind", work[1])
	}
	if len(mountsUnder(work[1])) > 0 || isMounted(work[1]+"/mnt") {
		t.Errorf("demo.sh left its mount behind")
	}
	if out, _ := exec.Command("pgrep", "-f", work[1]).Output(); len(out) > 0 {
		t.Errorf("demo.sh left processes behind: %s", out)
	}
}
