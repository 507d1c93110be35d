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

func crashTags(i int64) []string {
	if i%2 == 1 {
		return []string{"odd"}
	}
	return nil
}

// crashChild appends batches with SyncAlways and prints the number of each
// acknowledged record, until killed.
func crashChild(dir string) {
	w, err := OpenWriter(dir, WriterOptions{Create: true, Indices: []string{"time"}, Sync: SyncAlways})
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

// A writer killed at random moments loses no acknowledged record, leaves no
// torn one, and the next writer goes on from where it stopped.
func TestCrashKill(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test is slow")
	}
	dir := filepath.Join(t.TempDir(), "s")
	acked := int64(-1)
	next := int64(0) // the record the next child appends first: written ones may be unacknowledged
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 50; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "FRANZFS_CRASH_CHILD="+dir)
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
	t.Logf("%d records acknowledged over 50 kills", acked+1)
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
	var odd []int64
	for i := int64(0); i < count; i++ {
		got, err := s.Record(i)
		if err != nil || string(got) != string(crashPayload(i)) {
			t.Fatalf("record %d of %d: %q, %v", i, count, got, err)
		}
		if i%2 == 1 {
			odd = append(odd, i)
		}
	}
	if len(odd) > 0 {
		v, err := s.View(Path{Kind: KindQuery, Query: Query{{"odd"}}})
		if err != nil {
			t.Fatal(err)
		}
		var want []byte
		for _, i := range odd {
			want = append(want, crashPayload(i)...)
		}
		if got := readView(t, v); got != string(want) {
			t.Fatalf("tag view after kill differs (%d records)", count)
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
