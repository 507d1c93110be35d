package store

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// crashPayload is record i's payload in the crash test: its length varies.
func crashPayload(i int64) []byte {
	return fmt.Appendf(nil, "record %d %s\n", i, strings.Repeat("x", int(i%97)))
}

// crashTagged says which records carry each tag in the crash test: several
// tag files are written, and fsynced together, by most appends.
var crashTagged = map[string]func(i int64) bool{
	"odd": func(i int64) bool { return i%2 == 1 },
	"by3": func(i int64) bool { return i%3 == 0 },
	"all": func(i int64) bool { return true },
}

func crashTags(i int64) []string {
	var tags []string
	for tag, has := range crashTagged {
		if has(i) {
			tags = append(tags, tag)
		}
	}
	return tags
}

// crashChild appends batches with the sync mode FRANZFS_CRASH_SYNC names
// and prints the number of each acknowledged record, until killed.
func crashChild(dir string) {
	sync, err := ParseSync(os.Getenv("FRANZFS_CRASH_SYNC"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w, err := OpenWriter(dir, WriterOptions{Create: true, Indices: []string{"time"}, Sync: sync})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out := bufio.NewWriter(os.Stdout)
	for k := 1; ; k++ {
		next := w.Len()
		var batch []Record
		for i := next; i < next+int64(k%5+1); i++ {
			batch = append(batch, Record{Payload: crashPayload(i), Index: []int64{Now}, Tags: crashTags(i)})
		}
		first, err := w.AppendBatch(batch)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for i := range batch {
			fmt.Fprintln(out, first+int64(i))
		}
		out.Flush()
	}
}

func TestMain(m *testing.M) {
	if dir := os.Getenv("FRANZFS_CRASH_CHILD"); dir != "" {
		crashChild(dir)
	}
	os.Exit(m.Run())
}

// A writer killed at random moments, under each sync mode, loses no
// acknowledged record or posting, leaves no torn one, and the next writer
// goes on from where it stopped.
func TestCrashKill(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test is slow")
	}
	for sync, rounds := range map[Sync]int{SyncAlways: 30, SyncBatch: 15, SyncNone: 15} {
		t.Run(sync.String(), func(t *testing.T) { crashKill(t, sync, rounds) })
	}
}

func crashKill(t *testing.T, sync Sync, rounds int) {
	dir := filepath.Join(t.TempDir(), "s")
	acked := int64(-1)
	next := int64(0) // the record the next child appends first: written ones may be unacknowledged
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < rounds; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "FRANZFS_CRASH_CHILD="+dir, "FRANZFS_CRASH_SYNC="+sync.String())
		stdout, _ := cmd.StdoutPipe()
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan int64)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				n, _ := strconv.ParseInt(sc.Text(), 10, 64)
				lines <- n
			}
			close(lines)
		}()
		// Kill after a random time once the child acknowledges something.
		first := true
		var deadline <-chan time.Time
	read:
		for {
			select {
			case n, ok := <-lines:
				if !ok {
					break read
				}
				if n != next {
					t.Fatalf("round %d: acknowledged %d, want %d", round, n, next)
				}
				acked, next = n, n+1
				if first {
					first = false
					deadline = time.After(time.Duration(rng.IntN(40)) * time.Millisecond)
				}
			case <-deadline:
				cmd.Process.Kill()
				deadline = nil
			}
		}
		if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("round %d: child ended with %v: %s", round, err, stderr.String())
		}
		next = verifyCrashed(t, dir, acked)
	}
	t.Logf("%d records acknowledged over %d kills", acked+1, rounds)
}

// verifyCrashed checks the stream after a kill and returns its record count.
func verifyCrashed(t *testing.T, dir string, acked int64) int64 {
	t.Helper()
	s, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	count, _ := s.Count()
	if count <= acked {
		t.Fatalf("%d records after kill, %d acknowledged", count, acked+1)
	}
	for i := int64(0); i < count; i++ {
		got, err := s.Record(i)
		if err != nil || string(got) != string(crashPayload(i)) {
			t.Fatalf("record %d of %d: %q, %v", i, count, got, err)
		}
	}
	for tag, has := range crashTagged {
		var want []byte
		for i := range count {
			if has(i) {
				want = append(want, crashPayload(i)...)
			}
		}
		if len(want) == 0 {
			continue
		}
		v, err := s.View(Path{Kind: KindQuery, Query: Query{{tag}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := readView(t, v); got != string(want) {
			t.Fatalf("tag %s after kill: %d bytes, want %d (%d records)", tag, len(got), len(want), count)
		}
	}
	// Opening for writing repairs; the result checks clean.
	w, err := OpenWriter(dir, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	s2, _ := OpenDir(dir)
	defer s2.Close()
	r, err := s2.Check()
	if err != nil || !r.OK() || len(r.Notes) > 0 {
		t.Fatalf("check after repair: %+v, %v", r, err)
	}
	return count
}
