package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"
)

// archives measures franzfs archive against mksquashfs, and reads of an
// archived payloads file through the franzfs mount against squashfuse and
// the kernel's squashfs, on the same images in the same run.
func archives(live, dir string) {
	src := filepath.Join(live, "big")
	arch := filepath.Join(dir, "arch")
	check(os.MkdirAll(arch, 0o755))
	var input int64
	for _, f := range []string{"payloads", "offsets", "indices"} {
		input += fileSize(filepath.Join(src, f))
	}
	fmt.Printf("\n== archiving the big stream (%d MB), best of 2\n", input/1e6)
	franz := best(2, func() time.Duration {
		os.Remove(filepath.Join(arch, "franz-gzip.squashfs"))
		return timeRun(*franzfs, "archive", src, filepath.Join(arch, "franz-gzip.squashfs"))
	})
	mk := best(2, func() time.Duration {
		return timeRun("mksquashfs", src, filepath.Join(dir, "mk-gzip.squashfs"), "-comp", "gzip", "-noappend", "-quiet", "-no-progress")
	})
	timeRun("mksquashfs", src, filepath.Join(arch, "mk-zstd.squashfs"), "-comp", "zstd", "-noappend", "-quiet", "-no-progress")
	fmt.Printf("%-34s %8.0f MB/s  (%s, %d MB image)\n", "mksquashfs -comp gzip", float64(input)/1e6/mk.Seconds(), mk.Round(time.Millisecond), fileSize(filepath.Join(dir, "mk-gzip.squashfs"))/1e6)
	fmt.Printf("%-34s %8.0f MB/s  (%s, %d MB image)  %.2f of mksquashfs (target >= 1.0)\n", "franzfs archive (gzip)", float64(input)/1e6/franz.Seconds(), franz.Round(time.Millisecond), fileSize(filepath.Join(arch, "franz-gzip.squashfs"))/1e6, mk.Seconds()/franz.Seconds())

	m := startArchiveMount(arch, filepath.Join(dir, "mnt-arch"))
	defer m.stop()
	size := fileSize(filepath.Join(src, "payloads"))
	for _, image := range []string{"franz-gzip", "mk-zstd"} {
		img := filepath.Join(arch, image+".squashfs")
		sqf, kern := filepath.Join(dir, "sqf-"+image), filepath.Join(dir, "kern-"+image)
		check(os.MkdirAll(sqf, 0o755))
		check(os.MkdirAll(kern, 0o755))
		check(exec.Command("squashfuse", img, sqf).Run())
		check(exec.Command("mount", "-t", "squashfs", "-o", "loop,ro", img, kern).Run())
		paths := map[string]string{"franzfs": m.path(image, "payloads"), "squashfuse": filepath.Join(sqf, "payloads"), "kernel": filepath.Join(kern, "payloads")}
		// Runs of one reader here spread by a quarter or more; rounds that
		// take each reader in turn expose all three to the same moments.
		fmt.Printf("\n== %s image: cat payloads (%d MB) from a cold cache, median of 5 rounds of all three\n", image, size/1e6)
		readers := []string{"kernel", "squashfuse", "franzfs"}
		runs := map[string][]time.Duration{}
		for range 5 {
			for _, who := range readers {
				dropCaches()
				runs[who] = append(runs[who], catFile(paths[who]))
			}
		}
		rates := map[string]float64{}
		for _, who := range readers {
			ds := runs[who]
			slices.Sort(ds)
			rate := func(d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }
			rates[who] = rate(ds[len(ds)/2])
			fmt.Printf("%-34s %8.0f MB/s  (runs: %.0f to %.0f)\n", who, rates[who], rate(ds[len(ds)-1]), rate(ds[0]))
		}
		fmt.Printf("%-34s %8.2f of squashfuse (target >= 1.0), %.2f of the kernel (target >= 0.7)\n", "franzfs", rates["franzfs"]/rates["squashfuse"], rates["franzfs"]/rates["kernel"])
		fmt.Printf("-- random 4 KiB reads from a cold cache (2,000)\n")
		for _, who := range []string{"squashfuse", "franzfs"} {
			dropCaches()
			ds := randomReads(paths[who], size, 2000)
			fmt.Printf("%-34s p50 %8s  p99 %8s\n", who, ds[len(ds)/2].Round(time.Microsecond), ds[len(ds)*99/100].Round(time.Microsecond))
		}
		exec.Command("umount", sqf).Run()
		exec.Command("umount", kern).Run()
	}
}

func startArchiveMount(arch, dir string) *mounted {
	return startMountArgs(dir, "--archive", arch)
}

func randomReads(path string, size int64, n int) []time.Duration {
	f, err := os.Open(path)
	check(err)
	defer f.Close()
	rng := rand.New(rand.NewPCG(11, 11))
	buf := make([]byte, 4096)
	ds := make([]time.Duration, 0, n)
	for range n {
		off := rng.Int64N(size-4096) &^ 4095
		start := time.Now()
		_, err := f.ReadAt(buf, off)
		check(err)
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds
}

func timeRun(name string, args ...string) time.Duration {
	start := time.Now()
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	check(cmd.Run())
	return time.Since(start)
}

func best(n int, f func() time.Duration) time.Duration {
	d := f()
	for range n - 1 {
		d = min(d, f())
	}
	return d
}
