package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v3"
	"golang.org/x/term"

	"github.com/franzfs/franzfs/squash"
	"github.com/franzfs/franzfs/store"
)

func archiveCommand() *cli.Command {
	return &cli.Command{
		Name:      "archive",
		Usage:     "pack streams into one squashfs image",
		ArgsUsage: "STREAM... OUT.squashfs",
		Description: `Writes a squashfs 4.0 image of the streams that the kernel, unsquashfs and
squashfuse read, and that franzfs mount --archive and franzfs read show as
they were. Each live stream is archived as of one record boundary while its
writer goes on. An image of one stream holds it at its root; with several,
each goes under its name (relative to --live, else its directory's name).

The image is written beside OUT and renamed into place; an existing OUT is
kept unless --force. Prints {"stream": records archived, ...} as JSON.

   franzfs archive --live /srv/live app/events /srv/archive/events-2026-11.squashfs`,
		Flags: []cli.Flag{
			liveFlag,
			&cli.StringFlag{Name: "compression", Value: "gzip", Usage: "gzip or none"},
			&cli.BoolFlag{Name: "force", Usage: "replace OUT if it exists"},
			&cli.BoolFlag{Name: "verify", Usage: "read the image back and compare it with the streams"},
		},
		Action: runArchive,
	}
}

func runArchive(ctx context.Context, cmd *cli.Command) error {
	args := cmd.Args().Slice()
	if len(args) < 2 {
		return usageError("want STREAM... OUT.squashfs (see franzfs archive --help)")
	}
	out, names := args[len(args)-1], args[:len(args)-1]
	if err := checkDir("directory of "+out+",", filepath.Dir(out)); err != nil {
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
	opts := squash.Options{Compression: compression, Force: cmd.Bool("force"), Verify: cmd.Bool("verify"), Context: ctx}
	if term.IsTerminal(int(os.Stderr.Fd())) {
		bar := progressbar.DefaultBytes(-1, "archiving")
		defer bar.Finish()
		opts.Progress = func(done, total int64) {
			bar.ChangeMax64(total)
			bar.Set64(done)
		}
	}
	records, err := squash.Archive(out, sources, opts)
	if err != nil {
		return err
	}
	counts := map[string]int64{}
	for i, name := range names {
		counts[name] = records[i]
	}
	return json.NewEncoder(os.Stdout).Encode(counts)
}
