package squash

import (
	stdadler "hash/adler32"
	"math/rand/v2"
	"testing"
)

func TestAdler32(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 300_000)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	ones := make([]byte, 300_000) // the largest sums
	for i := range ones {
		ones[i] = 0xff
	}
	for _, b := range [][]byte{random, ones, make([]byte, 300_000)} {
		for n := range 600 {
			if got, want := adler32(b[:n]), stdadler.Checksum(b[:n]); got != want {
				t.Fatalf("%d bytes: %08x, want %08x", n, got, want)
			}
		}
		for _, n := range []int{1<<16 - 1, 1 << 16, 1<<16 + 1, 1<<17 + 129, len(b)} {
			if got, want := adler32(b[:n]), stdadler.Checksum(b[:n]); got != want {
				t.Fatalf("%d bytes: %08x, want %08x", n, got, want)
			}
		}
	}
}

func BenchmarkAdler32(b *testing.B) {
	block := make([]byte, 128<<10)
	for i := range block {
		block[i] = byte(i * 7)
	}
	for _, c := range []struct {
		name string
		sum  func([]byte) uint32
	}{{"squash", adler32}, {"hash", stdadler.Checksum}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(block)))
			for b.Loop() {
				c.sum(block)
			}
		})
	}
}
