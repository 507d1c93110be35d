package main

import (
	"path/filepath"

	"github.com/urfave/cli/v3"

	"github.com/franzfs/franzfs/store"
)

var liveFlag = &cli.StringFlag{
	Name:    "live",
	Usage:   "the live root: the directory that holds the streams, which are then named relative to it",
	Sources: cli.EnvVars("FRANZFS_LIVE"),
}

// streamPath is where stream STREAM lives: a path, or a name under --live.
func streamPath(cmd *cli.Command, stream string) (string, error) {
	live := cmd.String("live")
	if live == "" {
		return stream, nil
	}
	if err := store.ValidStreamName(stream); err != nil {
		return "", err
	}
	return filepath.Join(live, stream), nil
}

// openStream opens the stream the command's one argument names.
func openStream(cmd *cli.Command) (*store.Stream, error) {
	arg, err := oneArg(cmd, "STREAM")
	if err != nil {
		return nil, err
	}
	path, err := streamPath(cmd, arg)
	if err != nil {
		return nil, err
	}
	return store.OpenDir(path)
}
