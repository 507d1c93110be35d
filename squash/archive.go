package squash

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/squashfs"

	"github.com/franzfs/franzfs/store"
)

// A Source is a stream to archive and where it goes in the image: "." for
// the image's root (an image of one stream), else a path such as app/events.
type Source struct {
	Stream *store.Stream
	Path   string
}

// Options configure Archive.
type Options struct {
	// Compression is "gzip" (the default) or "none": the two that go-diskfs
	// writes and the kernel mounts.
	Compression string
	// Force replaces an existing image.
	Force bool
	// Verify reads the image back and compares it with what was archived.
	Verify bool
	// Progress, if not nil, is told how many bytes of the streams have been
	// copied, of how many, as archiving goes on.
	Progress func(done, total int64)
}

// ErrExists is returned when the image exists and Force is not set.
var ErrExists = errors.New("image exists (use --force to replace it)")

// imageBlockSize picks the block size for total bytes of content: 128 KiB,
// or less for small archives, because go-diskfs gives each file's tail a
// fragment block of its own, padded to a full block (and ignores its
// NoFragments option): the padding is at most a block per file.
func imageBlockSize(total int64) int64 {
	bs := int64(4 << 10)
	for bs < 128<<10 && bs*32 < total {
		bs *= 2
	}
	return bs
}

// Archive writes the sources into a squashfs image at out, each as of one
// record boundary, while their writers go on. It writes a temporary file
// beside out and renames it, and removes every temporary file it made,
// whether it succeeds or fails. It returns the records archived per source.
func Archive(out string, sources []Source, opts Options) (records []int64, err error) {
	var comp squashfs.FinalizeOptions
	switch opts.Compression {
	case "", "gzip":
		comp.Compression = &squashfs.CompressorGzip{CompressionLevel: 6}
	case "none":
		comp.Compression = &squashfs.CompressorGzip{CompressionLevel: 6}
		comp.NoCompressData, comp.NoCompressInodes, comp.NoCompressFragments = true, true, true
	default:
		return nil, fmt.Errorf("compression %q: franzfs writes gzip or none, the images the kernel mounts", opts.Compression)
	}
	if _, err := os.Stat(out); err == nil && !opts.Force {
		return nil, fmt.Errorf("%s: %w", out, ErrExists)
	}
	plan, total, err := snapshot(sources)
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return nil, err
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			os.Remove(tmpName)
		}
	}()
	err = write(tmp, plan, total, comp, opts.Progress)
	if err == nil {
		err = tmp.Chmod(0o644) // CreateTemp makes it 0600
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("archive %s: %w", out, err)
	}
	if opts.Verify {
		if err := verify(tmpName, plan); err != nil {
			return nil, fmt.Errorf("archive %s: verify: %w", out, err)
		}
	}
	if err := os.Rename(tmpName, out); err != nil {
		return nil, err
	}
	for _, p := range plan {
		records = append(records, p.records)
	}
	return records, nil
}

// planned is a source's snapshot: the prefixes of its files to copy.
type planned struct {
	Source
	records int64
	files   []store.FileExtent
}

func snapshot(sources []Source) ([]planned, int64, error) {
	var plan []planned
	var total int64
	for _, src := range sources {
		records, files, err := src.Stream.Snapshot()
		if err != nil {
			return nil, 0, err
		}
		for _, f := range files {
			total += f.Size
		}
		plan = append(plan, planned{src, records, files})
	}
	return plan, total, nil
}

// write builds the image in go-diskfs's workspace and finalizes it into
// out, then trims the file to the bytes the image uses.
func write(out *os.File, plan []planned, total int64, comp squashfs.FinalizeOptions, progress func(int64, int64)) error {
	sq, err := squashfs.Create(file.New(out, false), 0, 0, imageBlockSize(total))
	if err != nil {
		return err
	}
	// Finalize leaves its workspace behind; it is ours to remove.
	defer os.RemoveAll(sq.Workspace())
	var done int64
	for _, p := range plan {
		for _, f := range p.files {
			if err := copyInto(sq, p.Stream, path.Join(p.Path, f.Name), f); err != nil {
				return err
			}
			done += f.Size
			if progress != nil {
				progress(done, total)
			}
		}
	}
	if err := sq.Finalize(comp); err != nil {
		return err
	}
	return trim(out)
}

func copyInto(sq *squashfs.FileSystem, s *store.Stream, dst string, f store.FileExtent) error {
	if dir := path.Dir(dst); dir != "." {
		if err := sq.Mkdir(dir); err != nil {
			return fmt.Errorf("%s: %w", dst, err)
		}
	}
	src, err := s.File(f.Name)
	if err != nil {
		return err
	}
	defer src.Close()
	w, err := sq.OpenFile(dst, os.O_CREATE|os.O_RDWR)
	if err != nil {
		return fmt.Errorf("%s: %w", dst, err)
	}
	n, err := io.Copy(w, io.NewSectionReader(src, 0, f.Size))
	if err == nil && n != f.Size {
		err = fmt.Errorf("copied %d of %d bytes", n, f.Size)
	}
	return errors.Join(err, w.Close())
}

// trim cuts the image file to its bytes_used rounded up to 4 KiB, as
// mksquashfs pads it: go-diskfs leaves the size it was created with.
func trim(f *os.File) error {
	var sb [superblockSize]byte
	if _, err := f.ReadAt(sb[:], 0); err != nil {
		return err
	}
	used := int64(binary.LittleEndian.Uint64(sb[40:]))
	if err := f.Truncate((used + 4095) &^ 4095); err != nil {
		return err
	}
	return f.Sync()
}

// verify reads every archived file back from the image and compares it
// with the source's bytes.
func verify(imagePath string, plan []planned) error {
	img, err := Open(imagePath)
	if err != nil {
		return err
	}
	defer img.Close()
	for _, p := range plan {
		for _, f := range p.files {
			name := path.Join(p.Path, f.Name)
			got, err := img.Open(name)
			if err != nil {
				return err
			}
			src, err := p.Stream.File(f.Name)
			if err != nil {
				return err
			}
			same, err := equalReaders(io.NewSectionReader(src, 0, f.Size), got.(io.Reader))
			src.Close()
			if err != nil {
				return err
			}
			if !same {
				return fmt.Errorf("%s differs from the stream's %s", name, f.Name)
			}
		}
	}
	return nil
}

func equalReaders(a, b io.Reader) (bool, error) {
	ba, bb := make([]byte, 1<<20), make([]byte, 1<<20)
	for {
		na, erra := io.ReadFull(a, ba)
		nb, errb := io.ReadFull(b, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		if erra != nil || errb != nil {
			endA := erra == io.EOF || erra == io.ErrUnexpectedEOF
			endB := errb == io.EOF || errb == io.ErrUnexpectedEOF
			if endA && endB {
				return true, nil
			}
			if endA != endB {
				return false, nil
			}
			return false, errors.Join(erra, errb)
		}
	}
}
