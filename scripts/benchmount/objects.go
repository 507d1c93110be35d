package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/franzfs/franzfs/bucket"
	"github.com/franzfs/franzfs/store"
)

// objects measures an archive image read in place from object storage
// (versitygw on loopback, a real S3 server) against the same image on
// local disk, and against what a user would do without franzfs: rclone
// mount of the bucket, and squashfuse on the image in it.
var objectsComp = flag.String("objects-comp", "gzip", "objects: the image's compression, gzip (franzfs archive) or zstd (mksquashfs)")

func objects(live, dir string) {
	// Log lines whose ids and values gzip shrinks to about half, as real
	// ones: the image's bytes, not its decompression, are what is measured.
	src := filepath.Join(live, "logs")
	fmt.Println("building 2,000,000 log lines of about 100 B")
	buildLogs(src, 2_000_000)
	arch := filepath.Join(dir, "arch-local")
	check(os.MkdirAll(arch, 0o755))
	img := filepath.Join(arch, "logs.squashfs")
	if *objectsComp == "zstd" { // mksquashfs's: franzfs writes gzip
		check(exec.Command("mksquashfs", src, img, "-comp", "zstd", "-noappend", "-quiet", "-no-progress").Run())
	} else {
		check(exec.Command(*franzfs, "archive", src, img).Run())
	}
	fmt.Printf("image (%s): %d MB\n", *objectsComp, fileSize(img)/1e6)

	addr := freeAddr()
	data := filepath.Join(dir, "s3")
	check(os.MkdirAll(filepath.Join(data, "history"), 0o755))
	gw := exec.Command("versitygw", "--access", "bench", "--secret", "bench-secret", "--port", addr, "posix", data)
	check(gw.Start())
	defer gw.Process.Kill()
	waitListen(addr)
	env := []string{"AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench-secret", "AWS_ENDPOINT_URL=http://" + addr, "AWS_REGION=us-east-1"}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	// The local image, uploaded as it is.
	st, err := bucket.Open(context.Background(), "history", bucket.Options{PathStyle: true})
	check(err)
	f, err := os.Open(img)
	check(err)
	check(st.Upload(context.Background(), "arch/logs.squashfs", f, nil))
	f.Close()
	size := fileSize(filepath.Join(src, "payloads"))

	compare(dir, arch, addr, "on loopback", size)
	// The same through a proxy that holds every byte 1 ms each way: the
	// round trip of a store across a network.
	compare(dir, arch, delayProxy(addr, time.Millisecond), "a 2 ms round trip away", size)

	fmt.Println("-- what reads fetch from the bucket, per MB read (in process)")
	seq, seqMB := fetchedFor(func(f fs.File) int64 {
		n, err := io.Copy(io.Discard, f)
		check(err)
		return n
	})
	fmt.Printf("%-34s %6.2f requests, %6.2f MB per MB read\n", "sequential", seq[0]/seqMB, seq[1]/1e6/seqMB)
	rnd, rndMB := fetchedFor(func(f fs.File) int64 {
		r := f.(io.ReaderAt)
		rng := rand.New(rand.NewPCG(5, 5))
		buf := make([]byte, 4096)
		for range 500 {
			_, err := r.ReadAt(buf, rng.Int64N(size-4096))
			check(err)
		}
		return 500 * 4096
	})
	fmt.Printf("%-34s %6.2f requests, %6.2f MB per MB read (a 4 KiB read decompresses its 128 KiB block)\n", "random 4 KiB", rnd[0]/rndMB, rnd[1]/1e6/rndMB)
}

// fetchedFor reads the archived payloads with read, through package
// bucket in this process, and returns the requests and bytes fetched, and
// the MB read.
func fetchedFor(read func(fs.File) int64) ([2]float64, float64) {
	ctx := context.Background()
	s, err := bucket.Open(ctx, "history", bucket.Options{PathStyle: true})
	check(err)
	img, err := s.OpenImage(ctx, "arch/logs.squashfs")
	check(err)
	f, err := img.Open("payloads")
	check(err)
	defer f.Close()
	r0, b0 := s.Fetched()
	n := read(f)
	r1, b1 := s.Fetched()
	return [2]float64{float64(r1 - r0), float64(b1 - b0)}, float64(n) / 1e6
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer ln.Close()
	return ln.Addr().String()
}

func waitListen(addr string) {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
	}
	panic("nothing listens on " + addr)
}

// waitFile reports whether p appeared within a minute.
func waitFile(p string) bool {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// buildLogs writes n JSON log lines with random ids and values.
func buildLogs(path string, n int64) {
	w, err := store.OpenWriter(path, store.WriterOptions{Create: true, Indices: []string{"time"}, Buffer: 4 << 20})
	check(err)
	rng := rand.New(rand.NewPCG(7, 7))
	levels := []string{"info", "warn", "error", "debug"}
	for i := range n {
		line := fmt.Appendf(nil, `{"seq":%d,"level":"%s","id":"%016x%016x","v":%d,"user":"u%05d"}`+"\n",
			i, levels[rng.IntN(4)], rng.Uint64(), rng.Uint64(), rng.Int64N(1e9), rng.IntN(100000))
		_, err := w.Append(store.Record{Payload: line, Index: []int64{i}})
		check(err)
	}
	check(w.Close())
}

// compare reads the archived payloads, cold, from the local image, from
// the bucket at endpoint, and through rclone mount and squashfuse.
func compare(dir, arch, endpoint, where string, size int64) {
	// Each reader is started afresh before each of its runs, with the
	// kernel's caches dropped: every run is cold.
	readers := map[string]func() (path string, stop func()){
		"local image": func() (string, func()) {
			m := startArchiveMount(arch, filepath.Join(dir, "mnt-local"))
			return m.path("logs", "payloads"), m.stop
		},
		"bucket": func() (string, func()) {
			m := startMountArgs(filepath.Join(dir, "mnt-s3"), "--archive", "s3://history/arch/", "--s3-endpoint", "http://"+endpoint)
			return m.path("logs", "payloads"), m.stop
		},
		"rclone mount + squashfuse": func() (string, func()) {
			rc, sq := filepath.Join(dir, "rclone"), filepath.Join(dir, "rclone-sqf")
			check(os.MkdirAll(rc, 0o755))
			check(os.MkdirAll(sq, 0o755))
			r := exec.Command("rclone", "mount", "--read-only", "bench:history", rc)
			// rclone's SDK refuses AWS_CA_BUNDLE with its own transport.
			r.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "AWS_CA_BUNDLE=") }), "RCLONE_CONFIG_BENCH_TYPE=s3", "RCLONE_CONFIG_BENCH_PROVIDER=Other",
				"RCLONE_CONFIG_BENCH_ENDPOINT=http://"+endpoint, "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=bench", "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=bench-secret")
			check(r.Start())
			if !waitFile(filepath.Join(rc, "arch", "logs.squashfs")) {
				exec.Command("umount", rc).Run()
				r.Process.Kill()
				log.Fatalf("rclone mount of %s: the image did not appear", endpoint)
			}
			check(exec.Command("squashfuse", filepath.Join(rc, "arch", "logs.squashfs"), sq).Run())
			return filepath.Join(sq, "payloads"), func() {
				exec.Command("umount", sq).Run()
				exec.Command("umount", rc).Run()
				r.Process.Kill()
				r.Wait()
			}
		},
	}
	order := []string{"local image", "bucket", "rclone mount + squashfuse"}
	fmt.Printf("\n== an archived stream in a bucket (versitygw, %s): cat payloads (%d MB), cold, median of 3 rounds of all three\n", where, size/1e6)
	runs := map[string][]time.Duration{}
	for range 3 {
		for _, who := range order {
			path, stop := readers[who]()
			dropCaches()
			runs[who] = append(runs[who], catFile(path))
			stop()
		}
	}
	rates := map[string]float64{}
	for _, who := range order {
		ds := runs[who]
		slices.Sort(ds)
		rates[who] = float64(size) / 1e6 / ds[len(ds)/2].Seconds()
		fmt.Printf("%-34s %8.0f MB/s\n", who, rates[who])
	}
	fmt.Printf("%-34s %8.2f of the local image (target >= 0.8), %.2f of rclone + squashfuse (target >= 1.5)\n", "bucket",
		rates["bucket"]/rates["local image"], rates["bucket"]/rates["rclone mount + squashfuse"])

	fmt.Println("-- random 4 KiB reads, cold (500)")
	for _, who := range order {
		path, stop := readers[who]()
		dropCaches()
		ds := randomReads(path, size, 500)
		stop()
		fmt.Printf("%-34s p50 %8s  p99 %8s\n", who, ds[len(ds)/2].Round(time.Microsecond), ds[len(ds)*99/100].Round(time.Microsecond))
	}

}
