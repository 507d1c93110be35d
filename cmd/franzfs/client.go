package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/franzfs/franzfs/ingest"
)

var serverFlag = &cli.StringFlag{
	Name:    "server",
	Usage:   "talk to a franzfs serve daemon at `URL` instead of a directory",
	Sources: cli.EnvVars("FRANZFS_SERVER"),
}

// request sends a request to the daemon and fails on a non-2xx answer,
// with the daemon's one-line reason.
func request(ctx context.Context, method, base, path string, q url.Values, body io.Reader) (*http.Response, error) {
	u := strings.TrimSuffix(base, "/") + "/streams/" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if tok := os.Getenv("FRANZFS_TOKEN"); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("server %s: %w", base, err)
	}
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, fmt.Errorf("server %s: %s: %s", base, resp.Status, strings.TrimSpace(string(msg)))
	}
	return resp, nil
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
	resp, err := request(ctx, http.MethodPost, cmd.String("server"), name, q, bufio.NewReader(os.Stdin))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(os.Stdout, resp.Body)
	return err
}

// readRemote prints a view served by the daemon.
func readRemote(ctx context.Context, cmd *cli.Command, name, view string) error {
	q := url.Values{}
	if cmd.Bool("framed") {
		q.Set("format", "json")
	}
	if cmd.Bool("follow") {
		q.Set("follow", "")
	}
	resp, err := request(ctx, http.MethodGet, cmd.String("server"), name+"/"+view, q, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// Unbuffered: followed records show as they arrive.
	out := os.Stdout
	if !cmd.Bool("framed") {
		_, err = io.Copy(out, resp.Body)
		return err
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var fr ingest.FramedRecord
		if err := dec.Decode(&fr); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		out.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(fr.Payload))))
		out.Write(fr.Payload)
	}
}
