package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"

	"github.com/urfave/cli/v3"

	"github.com/franzfs/franzfs/client"
	"github.com/franzfs/franzfs/ingest"
)

var serverFlag = &cli.StringFlag{
	Name:    "server",
	Usage:   "talk to a franzfs serve daemon at `URL` instead of a directory",
	Sources: cli.EnvVars("FRANZFS_SERVER"),
}

// daemon is the client of the daemon the command's --server names.
func daemon(cmd *cli.Command) *client.Client {
	return &client.Client{Base: cmd.String("server"), Token: os.Getenv("FRANZFS_TOKEN")}
}

// appendRemote posts standard input to the daemon.
func appendRemote(ctx context.Context, cmd *cli.Command, name string) error {
	q := url.Values{}
	if cmd.Bool("lines") {
		q.Set("lines", "")
	}
	given, _, err := parseIndexFlags(cmd.StringSlice("index"))
	if err != nil {
		return err
	}
	for k, v := range given {
		q.Set("index."+k, fmt.Sprint(v))
	}
	for _, t := range cmd.StringSlice("tag") {
		q.Add("tag", t)
	}
	resp, err := daemon(cmd).Do(ctx, http.MethodPost, name, q, "", bufio.NewReader(os.Stdin))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(os.Stdout, resp.Body)
	return err
}

// readRemote prints a view served by the daemon.
func readRemote(ctx context.Context, cmd *cli.Command, name, view string) error {
	if cmd.Bool("framed") {
		// Unbuffered: followed records show as they arrive.
		return daemon(cmd).Framed(ctx, name, view, cmd.Bool("follow"), func(fr ingest.FramedRecord) error {
			_, err := os.Stdout.Write(append(binary.LittleEndian.AppendUint64(nil, uint64(len(fr.Payload))), fr.Payload...))
			return err
		})
	}
	q := url.Values{}
	if cmd.Bool("follow") {
		q.Set("follow", "")
	}
	resp, err := daemon(cmd).Do(ctx, http.MethodGet, name+"/"+view, q, "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(os.Stdout, resp.Body)
	return err
}
