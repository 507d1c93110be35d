package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/franzfs/franzfs/fusefs"
	"github.com/franzfs/franzfs/internal/advice"
	"github.com/franzfs/franzfs/tree"
)

func mountCommand() *cli.Command {
	return &cli.Command{
		Name:      "mount",
		Usage:     "show every stream, live or archived, as a directory of files, read-only",
		ArgsUsage: "MOUNTPOINT",
		Description: `Mounts the streams under --live, and the archive images NAME.squashfs in
--archive (each shown as NAME), at MOUNTPOINT (FUSE), and serves them until
Ctrl-C or SIGTERM, then unmounts. Images are read in process. Where both have
a name, the archive wins. Each stream is a directory:

   payloads offsets indices   the stream's own files, byte for byte
   seq/N  seq/A:B             record N (-1 the last); records A to B (either end open)
   index/NAME/X:Y             records whose NAME value is in [X, Y] (time: -15m:, RFC 3339)
   tag/T  query/A+B,C         records tagged T; tag queries (+ is AND, ',' is OR)
   follow                     an endless file: cat follow behaves as tail -f
   stat.json                  the stream's figures

When the mount is ready, "ready: MOUNTPOINT" is printed on standard output
and --ready-file, if given, is created: a script can wait for either. A
stale mount left at MOUNTPOINT by a killed franzfs is cleared first.`,
		Flags: append([]cli.Flag{
			liveFlag,
			archiveFlag,
			&cli.StringFlag{Name: "ready-file", Usage: "create `FILE` once the mount is ready"},
			&cli.BoolFlag{Name: "debug", Usage: "log every FUSE request"},
			&cli.StringSliceFlag{Name: "options", Aliases: []string{"o"}, Usage: "mount options, comma-separated: allow_other lets other users see the mount (each reads only the streams they may read in the live root or the image)"},
			&cli.BoolFlag{Name: "passthrough", Value: true, Usage: "let the kernel read the raw files of live streams itself (FUSE passthrough, where it allows); --passthrough=false serves them by reads"},
		}, s3Flags...),
		Action: runMount,
	}
}

func runMount(ctx context.Context, cmd *cli.Command) error {
	mountpoint, err := oneArg(cmd, "MOUNTPOINT")
	if err != nil {
		return err
	}
	live := cmd.String("live")
	if live == "" && len(cmd.StringSlice("archive")) == 0 {
		return usageError("mount needs --live DIR, --archive DIR (or s3://BUCKET/PREFIX/) or both")
	}
	if err := checkDirs(live); err != nil {
		return err
	}
	archives, err := openArchives(ctx, cmd)
	if err != nil {
		return err
	}
	opts := fusefs.Options{Debug: cmd.Bool("debug"), NoPassthrough: !cmd.Bool("passthrough")}
	for _, list := range cmd.StringSlice("options") {
		for o := range strings.SplitSeq(list, ",") {
			switch o {
			case "allow_other":
				opts.AllowOther = true
			case "", "ro", "default_permissions": // what the mount always is
			default:
				return usageError("mount option %q: franzfs takes allow_other", o)
			}
		}
	}
	root, err := openLive(cmd)
	if err != nil {
		return err
	}
	server, err := fusefs.Mount(mountpoint, tree.New(root, union(archives)), opts)
	if err != nil {
		return err
	}
	served := make(chan struct{})
	go func() {
		server.Wait()
		close(served)
	}()
	if err := announceReady(mountpoint, cmd.String("ready-file")); err != nil {
		fusefs.Unmount(server, mountpoint)
		return err
	}
	select {
	case <-ctx.Done():
		if err := fusefs.Unmount(server, mountpoint); err != nil {
			return fmt.Errorf("unmount %s: %w", mountpoint, err)
		}
		<-served
	case <-served: // unmounted from outside
	}
	return nil
}

// checkDirs checks the --live directory given (openArchives checks the
// archives).
func checkDirs(live string) error {
	if live == "" {
		return nil
	}
	return checkDir("live root", live)
}

// checkDir tells a missing or unreadable directory apart, in one line.
func checkDir(what, dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return advice.New(fs.ErrNotExist, "%s %s does not exist: create it (mkdir -p %s), or give another", what, dir, dir)
	case errors.Is(err, fs.ErrPermission):
		return advice.New(fs.ErrPermission, "%s %s: permission denied: run as a user who can read it", what, dir)
	case err != nil:
		return fmt.Errorf("%s %s: %w", what, dir, err)
	case !fi.IsDir():
		return usageError("%s %s is not a directory", what, dir)
	}
	return nil
}

// announceReady tells whoever waits that the mount serves: a line on
// standard output, the ready file, and systemd's notify socket.
func announceReady(mountpoint, readyFile string) error {
	fmt.Printf("ready: %s\n", mountpoint)
	if readyFile != "" {
		if err := os.WriteFile(readyFile, []byte(mountpoint+"\n"), 0o644); err != nil {
			return fmt.Errorf("ready file: %w", err)
		}
	}
	if sock := os.Getenv("NOTIFY_SOCKET"); sock != "" {
		if conn, err := net.Dial("unixgram", sock); err == nil {
			conn.Write([]byte("READY=1"))
			conn.Close()
		}
	}
	return nil
}
