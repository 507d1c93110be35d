// Command franzfs keeps append-only streams in the franz format and shows
// them as a filesystem. Each subcommand lives in a file of its own; this
// one wires them together and maps errors to exit codes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"github.com/urfave/cli/v3"

	"github.com/franzfs/franzfs/fusefs"
	"github.com/franzfs/franzfs/squash"
	"github.com/franzfs/franzfs/store"
)

// Exit codes, documented in the README.
const (
	exitError    = 1 // anything else
	exitUsage    = 2 // bad arguments or names
	exitNotFound = 3 // no such stream, record, index or tag
	exitCorrupt  = 4 // a damaged stream or image, an image in a compression not read, or a link or special file refused
	exitBusy     = 5 // in use: a stream locked by another writer, a mount point mounted, an address taken
	exitDenied   = 6 // not permitted, or no FUSE here
)

func main() {
	ctx, stop := signalContext()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	args := os.Args
	var err error
	if filepath.Base(args[0]) == "franzd" { // installed as franzd: a drop-in
		args, err = franzdArgs(args)
	}
	if err == nil {
		err = app().Run(ctx, args)
	}
	stop()
	var in interrupted
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled) && errors.As(context.Cause(ctx), &in):
		fmt.Fprintln(os.Stderr, "franzfs:", in)
		os.Exit(in.exitCode())
	default:
		fmt.Fprintln(os.Stderr, "franzfs:", err)
		os.Exit(exitCode(err))
	}
}

func app() *cli.Command {
	root := &cli.Command{
		Name:                  "franzfs",
		Usage:                 "append-only streams in the franz format, shown as a filesystem",
		EnableShellCompletion: true, // franzfs completion bash|zsh|fish
		Description: `franzfs keeps streams of records (a directory with payloads, offsets and
indices files, as franz writes them), appends to them, and reads them back
by record number, by index value (time ranges) and by tag.

Start with:
   echo hello | franzfs append --live /tmp/live demo
   franzfs read /tmp/live/demo
   franzfs info /tmp/live/demo`,
		Commands: []*cli.Command{
			appendCommand(),
			readCommand(),
			infoCommand(),
			checkCommand(),
			mountCommand(),
			archiveCommand(),
			serveCommand(),
			forwardCommand(),
		},
		// franzfs completion bash|zsh|fish, listed in --help.
		ConfigureShellCompletionCommand: func(c *cli.Command) { c.Hidden = false },
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageError("unknown command %q (see franzfs --help)", cmd.Args().First())
			}
			return cli.ShowRootCommandHelp(cmd)
		},
	}
	for _, c := range append(root.Commands, root) {
		c.OnUsageError = oneLineUsage
	}
	return root
}

// oneLineUsage makes a bad flag or a missing one a usage error of one
// line (exit 2), not the whole help.
func oneLineUsage(ctx context.Context, cmd *cli.Command, err error, _ bool) error {
	return usageError("%v (see %s --help)", err, cmd.FullName())
}

func exitCode(err error) int {
	var ec cli.ExitCoder
	switch {
	case errors.As(err, &ec):
		return ec.ExitCode()
	case errors.Is(err, store.ErrBadName), errors.Is(err, store.ErrBadRecord), errors.Is(err, errUsage), errors.Is(err, syscall.ENOTDIR):
		return exitUsage
	case errors.Is(err, store.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return exitNotFound
	case errors.Is(err, store.ErrCorrupt), errors.Is(err, store.ErrUnsafe), errors.Is(err, squash.ErrCorrupt), errors.Is(err, squash.ErrUnsupported):
		return exitCorrupt
	case errors.Is(err, store.ErrLocked), errors.Is(err, store.ErrDeleted), errors.Is(err, fusefs.ErrBusy), errors.Is(err, syscall.EADDRINUSE):
		return exitBusy
	case errors.Is(err, fs.ErrPermission), errors.Is(err, fusefs.ErrNoFUSE):
		return exitDenied
	}
	return exitError
}

var errUsage = errors.New("usage")

func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// oneArg returns the command's single argument, or a usage error.
func oneArg(cmd *cli.Command, what string) (string, error) {
	if cmd.Args().Len() != 1 {
		return "", usageError("want one %s, got %d arguments (see franzfs %s --help)", what, cmd.Args().Len(), cmd.Name)
	}
	return cmd.Args().First(), nil
}
