package main

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v3"
	"golang.org/x/term"

	"github.com/franzfs/franzfs/bucket"
	"github.com/franzfs/franzfs/internal/advice"
	"github.com/franzfs/franzfs/squash"
	"github.com/franzfs/franzfs/store"
	"github.com/franzfs/franzfs/tree"
)

func archiveCommand() *cli.Command {
	return &cli.Command{
		Name:      "archive",
		Usage:     "pack streams into one squashfs image",
		ArgsUsage: "STREAM... OUT.squashfs|s3://BUCKET/KEY.squashfs",
		Description: `Writes a squashfs 4.0 image of the streams that the kernel, unsquashfs and
squashfuse read, and that franzfs mount --archive and franzfs read show as
they were. Each live stream is archived as of one record boundary while its
writer goes on. An image of one stream holds it at its root; with several,
each goes under its name (relative to --live, else its directory's name).

The image is written beside OUT and renamed into place; an existing OUT is
kept unless --force. Prints {"stream": records archived, ...} as JSON.

OUT may be an object in S3-compatible storage: the image is written to a
temporary file, then uploaded in parts sent in parallel; the object
appears whole or not at all. --verify then reads it back.

   franzfs archive --live /srv/live app/events /srv/archive/events-2026-11.squashfs
   franzfs archive --live /srv/live app/events s3://history/app/events-2026-11.squashfs`,
		Flags: append([]cli.Flag{
			liveFlag,
			&cli.StringFlag{Name: "compression", Value: "gzip", Usage: "gzip or none"},
			&cli.BoolFlag{Name: "force", Usage: "replace OUT if it exists"},
			&cli.BoolFlag{Name: "verify", Usage: "read the image back and compare it with the streams (and an uploaded object with the image)"},
		}, s3Flags...),
		Action: runArchive,
	}
}

func runArchive(ctx context.Context, cmd *cli.Command) error {
	args := cmd.Args().Slice()
	if len(args) < 2 {
		return usageError("want STREAM... OUT.squashfs (see franzfs archive --help)")
	}
	out, names := args[len(args)-1], args[:len(args)-1]
	var up *upload
	if bucket.IsURL(out) {
		var err error
		if up, err = startUpload(ctx, cmd, out); err != nil {
			return err
		}
		defer up.cleanup()
		out = up.local
	} else if err := checkDir("directory of "+out+",", filepath.Dir(out)); err != nil {
		return err
	}
	root, err := openLive(cmd)
	if err != nil {
		return err
	}
	if root != nil {
		defer root.Close()
	}
	var sources []squash.Source
	for _, name := range names {
		inner := name
		if root == nil {
			inner = filepath.Base(name)
		}
		// Opened now, to say at once what is wrong with a name; then held
		// open only while it is read, so that archiving any number of
		// streams takes a fixed number of descriptors.
		s, err := openLocal(root, name)
		if err != nil {
			return err
		}
		s.Close()
		if len(names) == 1 {
			inner = "."
		}
		sources = append(sources, squash.Source{Path: inner, Open: func() (*store.Stream, error) { return openLocal(root, name) }})
	}
	compression := cmd.String("compression")
	if compression != "gzip" && compression != "none" {
		return usageError("--compression %s: franzfs writes gzip or none", compression)
	}
	opts := squash.Options{Compression: compression, Force: cmd.Bool("force"), Verify: cmd.Bool("verify"), Context: ctx,
		Progress: progress("archiving")}
	records, err := squash.Archive(out, sources, opts)
	if err != nil {
		return err
	}
	if up != nil {
		if err := up.finish(ctx, cmd.Bool("verify")); err != nil {
			return err
		}
	}
	counts := map[string]int64{}
	for i, name := range names {
		counts[name] = records[i]
	}
	return json.NewEncoder(os.Stdout).Encode(counts)
}

// progress is a progress bar on a terminal, or nil.
func progress(what string) func(done, total int64) {
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		return nil
	}
	bar := progressbar.DefaultBytes(-1, what)
	return func(done, total int64) {
		bar.ChangeMax64(total)
		bar.Set64(done)
		if done == total {
			bar.Finish()
		}
	}
}

// An upload is an archive bound for object storage: written to a
// temporary file first.
type upload struct {
	s     *bucket.Store
	key   string
	local string // the image, in a temporary directory
	dir   string
}

func startUpload(ctx context.Context, cmd *cli.Command, out string) (*upload, error) {
	loc, err := bucket.ParseURL(out)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(loc.Key, tree.ImageSuffix) || strings.HasSuffix(loc.Key, "/"+tree.ImageSuffix) {
		return nil, usageError("%s: want s3://BUCKET/KEY.squashfs", out)
	}
	s, err := bucket.Open(ctx, loc.Bucket, s3Options(cmd))
	if err != nil {
		return nil, err
	}
	exists, err := s.Exists(ctx, loc.Key)
	switch {
	case err != nil:
		return nil, err
	case exists && !cmd.Bool("force"):
		return nil, advice.New(fs.ErrExist, "%s exists: give --force to replace it", out)
	}
	dir, err := os.MkdirTemp("", "franzfs-archive-")
	if err != nil {
		return nil, err
	}
	return &upload{s: s, key: loc.Key, local: filepath.Join(dir, path.Base(loc.Key)), dir: dir}, nil
}

// finish uploads the image, and with verify reads the object back.
func (u *upload) finish(ctx context.Context, verify bool) error {
	f, err := os.Open(u.local)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := u.s.Upload(ctx, u.key, f, progress("uploading")); err != nil {
		return err
	}
	if verify {
		return u.s.Verify(ctx, u.key, f)
	}
	return nil
}

func (u *upload) cleanup() { os.RemoveAll(u.dir) }
