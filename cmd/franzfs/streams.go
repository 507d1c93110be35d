package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/franzfs/franzfs/bucket"
	"github.com/franzfs/franzfs/internal/advice"
	"github.com/franzfs/franzfs/squash"
	"github.com/franzfs/franzfs/store"
	"github.com/franzfs/franzfs/tree"
)

var liveFlag = &cli.StringFlag{
	Name:    "live",
	Usage:   "the live root: the directory that holds the streams, which are then named relative to it",
	Sources: cli.EnvVars("FRANZFS_LIVE"),
}

// openLive opens the --live root, or returns nil if none was given.
func openLive(cmd *cli.Command) (*os.Root, error) {
	live := cmd.String("live")
	if live == "" {
		return nil, nil
	}
	if err := checkDir("live root", live); err != nil {
		return nil, err
	}
	return store.OpenRoot(live)
}

// openStream opens the stream the command's one argument names: a stream
// directory, a name under --live (opened beneath it), or an archive image
// (IMAGE.squashfs for an image of one stream, IMAGE.squashfs/NAME for one
// stream in it), on disk or in object storage (s3://BUCKET/KEY.squashfs).
func openStream(ctx context.Context, cmd *cli.Command) (*store.Stream, func(), error) {
	arg, err := oneArg(cmd, "STREAM")
	if err != nil {
		return nil, nil, err
	}
	root, err := openLive(cmd)
	if err != nil {
		return nil, nil, err
	}
	if root != nil {
		defer root.Close() // the stream holds its own directory
		s, err := openLocal(root, arg)
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	}
	if bucket.IsURL(arg) {
		return openObjectStream(ctx, cmd, arg)
	}
	if image, inner, ok := splitImagePath(arg); ok {
		img, err := squash.Open(image)
		if err != nil {
			return nil, nil, err
		}
		s, err := tree.ImageSource(img, tree.Access{}).Open(inner)
		if err != nil {
			img.Close()
			return nil, nil, fmt.Errorf("image %s: %w", image, err)
		}
		return s, func() { s.Close(); img.Close() }, nil
	}
	s, err := openLocal(nil, arg)
	if err != nil {
		return nil, nil, err
	}
	return s, func() { s.Close() }, nil
}

// openLocal opens a live stream: name beneath root, or the directory name
// where root is nil. A missing stream, or a folder, is told what to do.
func openLocal(root *os.Root, name string) (*store.Stream, error) {
	p := name
	var s *store.Stream
	var err error
	if root != nil {
		p = filepath.Join(root.Name(), name)
		s, err = store.OpenIn(root, name)
	} else {
		s, err = store.OpenDir(name)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return s, err
	}
	if _, statErr := os.Lstat(filepath.Join(p, store.OffsetsFile)); statErr == nil {
		return nil, err // a stream, damaged
	}
	if fi, statErr := os.Stat(p); statErr == nil && fi.IsDir() {
		return nil, advice.New(store.ErrNotFound, "%s is a folder, not a stream (no offsets file): ls %s shows what it holds", p, p)
	}
	return nil, advice.New(store.ErrNotFound, "no stream %s: check the name (ls %s), or create it with franzfs append", p, filepath.Dir(p))
}

// splitImagePath finds an image file among p's components: the image's
// path and the path inside it.
func splitImagePath(p string) (image, inner string, ok bool) {
	parts := strings.Split(filepath.ToSlash(filepath.Clean(p)), "/")
	for i, part := range parts {
		if !strings.HasSuffix(part, tree.ImageSuffix) {
			continue
		}
		image = filepath.FromSlash(strings.Join(parts[:i+1], "/"))
		if fi, err := os.Stat(image); err == nil && fi.Mode().IsRegular() {
			inner = strings.Join(parts[i+1:], "/")
			if inner == "" {
				inner = "."
			}
			return image, inner, true
		}
	}
	return "", "", false
}

// openObjectStream opens s3://BUCKET/KEY.squashfs[/NAME]: a stream in an
// image read in place from object storage.
func openObjectStream(ctx context.Context, cmd *cli.Command, arg string) (*store.Stream, func(), error) {
	loc, err := bucket.ParseURL(arg)
	if err != nil {
		return nil, nil, err
	}
	key, inner, ok := strings.Cut(loc.Key, tree.ImageSuffix)
	if !ok || inner != "" && inner[0] != '/' {
		return nil, nil, usageError("%s: want s3://BUCKET/KEY.squashfs, or .../KEY.squashfs/NAME for a stream in it", arg)
	}
	key += tree.ImageSuffix
	inner = cmp.Or(strings.TrimPrefix(inner, "/"), ".")
	s3, err := bucket.Open(ctx, loc.Bucket, s3Options(cmd))
	if err != nil {
		return nil, nil, err
	}
	img, err := s3.OpenImage(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	s, err := tree.ImageSource(img, tree.Access{}).Open(inner)
	if err != nil {
		return nil, nil, fmt.Errorf("image %s: %w", img.Name(), err)
	}
	return s, func() { s.Close() }, nil
}
