package integration

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/franzfs/franzfs/store"
)

// The franz use case end to end: a remote daemon takes measurements, a
// forwarder sends every 7th, and another the first of each 100 ms, to a
// gateway daemon. The forwarders are SIGKILLed and restarted and the
// gateway restarted while records flow; the gateway then holds exactly the
// sampled records, and a mount of each shows them.
func TestForwardEndToEnd(t *testing.T) {
	remoteLive, gatewayLive := t.TempDir(), t.TempDir()
	remote := serve(t, "--live", remoteLive)
	gatewayAddr := freeAddr(t)
	gateway := serve(t, "--live", gatewayLive, "--listen", gatewayAddr)

	const total, every = 3000, 7
	written := make(chan struct{})
	go func() {
		defer close(written)
		for i := 0; i < total; i += 50 {
			var body strings.Builder
			for k := i; k < i+50; k++ {
				fmt.Fprintf(&body, "room1 %d 21.%d C\n", k, k%10)
			}
			if code, out := remote.do(t, "POST", "/streams/sensors/room1?lines", "", body.String()); code != 200 {
				t.Errorf("append: %d %s", code, out)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	forwarder := func(args ...string) *exec.Cmd {
		cmd := exec.Command(franzfs, append([]string{"forward", "--from", remote.url, "--to", "http://" + gatewayAddr, "--retry", "50ms"}, args...)...)
		cmd.Stderr = &syncBuffer{}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	nth := []string{"--every", fmt.Sprint(every), "sensors/room1", "gw/room1"}
	bucket := []string{"--bucket", "100ms", "sensors/room1", "gw/room1-100ms"}
	count := func(name string) int64 {
		s, err := store.OpenDir(filepath.Join(gatewayLive, name))
		if err != nil {
			return 0
		}
		defer s.Close()
		n, _ := s.Count()
		return n
	}

	f1, b1 := forwarder(nth...), forwarder(bucket...)
	waitFor(t, "the first forwarded records", 10*time.Second, func() bool { return count("gw/room1") > 20 })
	f1.Process.Kill()
	b1.Process.Kill()
	f1.Wait()
	b1.Wait()
	f2, b2 := forwarder(nth...), forwarder(bucket...)
	waitFor(t, "more forwarded records", 10*time.Second, func() bool { return count("gw/room1") > 100 })
	gateway.cmd.Process.Signal(syscall.SIGTERM)
	if err := gateway.cmd.Wait(); err != nil {
		t.Fatalf("gateway: %v", err)
	}
	time.Sleep(200 * time.Millisecond) // the forwarders fail and retry
	gateway = serve(t, "--live", gatewayLive, "--listen", gatewayAddr)
	<-written
	const want = (total + every - 1) / every
	waitFor(t, "every 7th record at the gateway", 20*time.Second, func() bool { return count("gw/room1") == want })

	// The bucket forwarder's records: the first of each 100 ms of arrival.
	src, err := store.OpenDir(filepath.Join(remoteLive, "sensors/room1"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var wantBuckets []int64
	last := int64(-1)
	for i := range int64(total) {
		tm, _ := src.IndexValue(0, i)
		if b := tm / int64(100*time.Millisecond); b > last {
			wantBuckets, last = append(wantBuckets, i), b
		}
	}
	waitFor(t, "the first of each 100 ms at the gateway", 20*time.Second, func() bool { return count("gw/room1-100ms") == int64(len(wantBuckets)) })
	time.Sleep(100 * time.Millisecond) // nothing more arrives
	for _, f := range []*exec.Cmd{f2, b2} {
		f.Process.Signal(syscall.SIGTERM)
		if err := f.Wait(); err != nil {
			t.Errorf("forward on SIGTERM: %v: %s", err, f.Stderr)
		}
	}
	checkForwarded(t, src, filepath.Join(gatewayLive, "gw/room1"), func(k int64) int64 { return k * every }, want)
	checkForwarded(t, src, filepath.Join(gatewayLive, "gw/room1-100ms"), func(k int64) int64 { return wantBuckets[k] }, int64(len(wantBuckets)))

	// A mount of each: the gateway's records, found by their source number.
	t.Run("mounts", func(t *testing.T) {
		mr, mg := mount(t, "--live", remoteLive), mount(t, "--live", gatewayLive)
		var sources []string
		for _, i := range []int{70, 77, 84, 91} {
			sources = append(sources, mr.path("sensors/room1/seq", fmt.Sprint(i)))
		}
		if got, want := sh(t, "cat "+mg.path("gw/room1/index/src/70:91")), sh(t, "cat "+strings.Join(sources, " ")); got != want {
			t.Errorf("gateway index/src/70:91 = %q, want %q", got, want)
		}
		if got := sh(t, "wc -l < "+mg.path("gw/room1/seq/0:")); strings.TrimSpace(got) != fmt.Sprint(want) {
			t.Errorf("gateway holds %s lines, want %d", got, want)
		}
	})
	t.Logf("gateway: %d of %d records every %d, %d first of 100 ms", want, total, every, len(wantBuckets))
}

// checkForwarded verifies that the target stream holds exactly n records,
// the kth being source record srcOf(k) with its payload, time and number.
func checkForwarded(t *testing.T, src *store.Stream, dir string, srcOf func(int64) int64, n int64) {
	t.Helper()
	dst, err := store.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if got, _ := dst.Count(); got != n {
		t.Fatalf("%s: %d records, want %d", dir, got, n)
	}
	if got := dst.Indices(); strings.Join(got, ",") != "time,src" {
		t.Fatalf("%s: indices %q", dir, got)
	}
	for k := range n {
		i := srcOf(k)
		want, _ := src.Record(i)
		got, _ := dst.Record(k)
		wantTime, _ := src.IndexValue(0, i)
		gotTime, _ := dst.IndexValue(0, k)
		gotSrc, _ := dst.IndexValue(1, k)
		if string(got) != string(want) || gotTime != wantTime || gotSrc != i {
			t.Fatalf("%s record %d: %q time %d src %d, want source record %d: %q time %d", dir, k, got, gotTime, gotSrc, i, want, wantTime)
		}
	}
}

// freeAddr is a loopback address nothing listens on, for a daemon that
// must come back at the same address.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
