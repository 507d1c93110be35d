package squash

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/franzfs/franzfs/store"
)

// A Source is a stream to archive and where it goes in the image: "." for
// the image's root (an image of one stream), else a path such as app/events.
// The stream is Stream, if open, else what Open opens: Archive then holds
// it open only while it reads it, so that any number of streams is
// archived within a fixed number of descriptors.
type Source struct {
	Stream *store.Stream
	Path   string
	Open   func() (*store.Stream, error)
}

// use calls fn with the source's stream, opened for the call if need be.
func (src Source) use(fn func(*store.Stream) error) error {
	if src.Stream != nil {
		return fn(src.Stream)
	}
	s, err := src.Open()
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(s)
}

// Options configure Archive.
type Options struct {
	// Compression is "gzip" (the default) or "none".
	Compression string
	// Force replaces an existing image.
	Force bool
	// Verify reads the image back and compares it with what was archived.
	Verify bool
	// Progress, if not nil, is told how many bytes of the streams have been
	// copied, of how many, as archiving goes on.
	Progress func(done, total int64)
	// Context, if not nil, stops archiving when it ends (Ctrl-C): Archive
	// then returns its error and leaves no image.
	Context context.Context
}

// ErrExists is returned when the image exists and Force is not set.
var ErrExists = errors.New("image exists (use --force to replace it)")

// blockSize is the data block size of the images franzfs writes.
const blockSize = 128 << 10

// Archive writes the sources into a squashfs image at out, each as of one
// record boundary, while their writers go on. It writes a temporary file
// beside out and renames it, and removes it if anything fails. It returns
// the records archived per source.
func Archive(out string, sources []Source, opts Options) (records []int64, err error) {
	var compress bool
	switch opts.Compression {
	case "", "gzip":
		compress = true
	case "none":
	default:
		return nil, fmt.Errorf("compression %q: franzfs writes gzip or none", opts.Compression)
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
	ctx := cmp.Or(opts.Context, context.Background())
	err = write(ctx, tmp, plan, total, compress, opts.Progress)
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
	seen := map[string]bool{}
	for _, src := range sources {
		if seen[src.Path] || (src.Path == "." && len(sources) > 1) {
			return nil, 0, fmt.Errorf("stream at %s in the image: given twice, or at the root beside others", src.Path)
		}
		seen[src.Path] = true
		var records int64
		var files []store.FileExtent
		err := src.use(func(s *store.Stream) (err error) {
			records, files, err = s.Snapshot()
			return err
		})
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

// write writes the image of plan to out, then syncs it.
func write(ctx context.Context, out *os.File, plan []planned, total int64, compress bool, progress func(int64, int64)) error {
	root := &wnode{isDir: true}
	for _, p := range plan {
		for _, f := range p.files {
			// Each file is opened when its blocks are written, and closed
			// after: the files of a snapshot only grow past its sizes.
			read := func(fn func(io.ReaderAt) error) error {
				return p.use(func(s *store.Stream) error {
					src, err := s.File(f.Name)
					if err != nil {
						return err
					}
					defer src.Close()
					return fn(ctxReaderAt{ctx, src})
				})
			}
			if err := root.add(path.Join(p.Path, f.Name), read, f.Size, f.ModTime); err != nil {
				return err
			}
		}
	}
	var done int64
	var step func(int64)
	if progress != nil {
		step = func(n int64) {
			done += n
			progress(done, total)
		}
	}
	if err := writeImage(out, root, blockSize, compress, step); err != nil {
		return err
	}
	return out.Sync()
}

// ctxReaderAt fails its reads once ctx ends, so that a long archive stops
// within a block of Ctrl-C.
type ctxReaderAt struct {
	ctx context.Context
	r   io.ReaderAt
}

func (c ctxReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.ReadAt(p, off)
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
			var same bool
			err = p.use(func(s *store.Stream) error {
				src, err := s.File(f.Name)
				if err != nil {
					return err
				}
				defer src.Close()
				same, err = equalReaders(io.NewSectionReader(src, 0, f.Size), got.(io.Reader))
				return err
			})
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
