package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/franzfs/franzfs/franzd"
	"github.com/franzfs/franzfs/store"
)

// franzScheme starts the URL of a franzd: franz://HOST[:PORT]/DIR.
const franzScheme = "franz://"

// parseFranzURL splits franz://HOST[:PORT]/DIR into a dial address and the
// handshake directory, as the franz CLI does: the port defaults to 1886,
// and the slash before DIR is required even when DIR is empty.
func parseFranzURL(u string) (addr, dir string, err error) {
	rest, ok := strings.CutPrefix(u, franzScheme)
	hostport, dir, slash := strings.Cut(rest, "/")
	if !ok || !slash || hostport == "" {
		return "", "", usageError("%q: want franz://HOST[:PORT]/DIR", u)
	}
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		hostport = net.JoinHostPort(strings.Trim(hostport, "[]"), strconv.Itoa(franzd.DefaultPort))
	}
	return hostport, dir, nil
}

// readFranz reads STREAM from a franzd as the franz CLI does: a query per
// -r range in turn (a range that waits longer than --timeout is skipped),
// then with --follow the records after the last one printed.
func readFranz(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Len() != 2 {
		return usageError("want franz://HOST[:PORT]/DIR and STREAM, got %d arguments", cmd.Args().Len())
	}
	if cmd.String("server") != "" {
		return usageError("--server reads over HTTP; franz:// over franzd's protocol: give one")
	}
	addr, dir, err := parseFranzURL(cmd.Args().Get(0))
	if err != nil {
		return err
	}
	stream := cmd.Args().Get(1)
	index, byIndex := cmd.String("index"), cmd.IsSet("index")
	var queries []franzd.Query
	for _, r := range cmd.StringSlice("range") {
		from, to, err := franzRange(r, index, byIndex)
		if err != nil {
			return err
		}
		queries = append(queries, franzd.Query{Stream: stream, From: from, To: to})
	}
	if len(queries) == 0 && !cmd.Bool("follow") {
		queries = append(queries, franzd.Query{Stream: stream, From: franzd.BySeqNum(0), To: franzd.BySeqNum(-1)})
	}
	c, err := franzd.Dial(ctx, addr, dir)
	if err != nil {
		return err
	}
	defer c.Close()
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer out.Flush()
	emit := func(resp *franzd.Response) error {
		defer resp.Close()
		for {
			p, err := resp.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s %s: %w", cmd.Args().Get(0), stream, err)
			}
			if cmd.Bool("framed") {
				out.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(p))))
			}
			if _, err := out.Write(p); err != nil {
				return err
			}
		}
	}
	next := int64(0) // where --follow goes on
	for i, q := range queries {
		qctx, cancel := context.WithTimeout(ctx, cmd.Duration("timeout"))
		resp, err := c.Query(qctx, q)
		cancel()
		switch {
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			fmt.Fprintf(os.Stderr, "franzfs: %s %s: range %s not ready after %v, skipped\n", cmd.Args().Get(0), stream, cmd.StringSlice("range")[i], cmd.Duration("timeout"))
			continue
		case err != nil:
			return franzErr(stream, err)
		}
		next = resp.S1 + 1
		if err := emit(resp); err != nil {
			return err
		}
	}
	if !cmd.Bool("follow") {
		return nil
	}
	for {
		if err := out.Flush(); err != nil {
			return err
		}
		resp, err := c.Query(ctx, franzd.Query{Stream: stream, From: franzd.BySeqNum(next), To: franzd.BySeqNum(-1)})
		if err != nil {
			return franzErr(stream, err)
		}
		if resp.S1 >= next {
			next = resp.S1 + 1
		}
		if err := emit(resp); err != nil {
			return err
		}
	}
}

// franzRange reads -r A:B as the franz CLI does: record numbers (negative
// from the end, _N for -N), or with --index values of that index. An open
// end is the first or last record.
func franzRange(r, index string, byIndex bool) (from, to franzd.ItemRef, err error) {
	a, b, isRange := strings.Cut(r, ":")
	if !isRange {
		b = a
	}
	parse := func(s string, open int64) (franzd.ItemRef, error) {
		if s == "" {
			return franzd.BySeqNum(open), nil
		}
		v, err := strconv.ParseInt(strings.Replace(s, "_", "-", 1), 10, 64)
		if err != nil {
			return franzd.ItemRef{}, usageError("-r %s: %q is not a number", r, s)
		}
		if byIndex {
			return franzd.ByIndex(index, v), nil
		}
		return franzd.BySeqNum(v), nil
	}
	if from, err = parse(a, 0); err != nil {
		return
	}
	to, err = parse(b, -1)
	return
}

// franzErr maps a franzd exception to franzfs's errors and exit codes.
func franzErr(stream string, err error) error {
	var e *franzd.Exception
	if !errors.As(err, &e) {
		return err
	}
	switch e.Kind {
	case franzd.StreamNotFound:
		return fmt.Errorf("stream %s: %w (%v)", stream, store.ErrNotFound, e)
	case franzd.IndexNotFound:
		return fmt.Errorf("stream %s: index %q: %w (the stream has %q)", stream, e.Index, store.ErrNotFound, e.Indices)
	}
	return fmt.Errorf("stream %s: %v", stream, e)
}

// franzdArgs turns a franzd command line into franzfs serve's, so that
// franzfs installed as franzd replaces it: franzd [--port N] [--live DIR]
// [--archive DIR] [--mount DIR] [--reap-interval S] [--stream-lifetime S].
// franzfs needs no mount directory nor reaper; it listens on loopback
// unless FRANZFS_FRANZD_REMOTE=1 (the protocol has no authentication).
func franzdArgs(args []string) ([]string, error) {
	port, live, archive := strconv.Itoa(franzd.DefaultPort), ".", ""
	for i := 1; i < len(args); i++ {
		name, value, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		switch name {
		case "port", "live", "archive", "mount", "reap-interval", "stream-lifetime":
		case "h", "help":
			return nil, usageError("franzd is franzfs serve --franzd: franzd [--port N] [--live DIR] [--archive DIR]")
		default:
			return nil, usageError("franzd: unknown option %q", args[i])
		}
		if !hasValue {
			if i+1 == len(args) {
				return nil, usageError("franzd: %s needs a value", args[i])
			}
			i++
			value = args[i]
		}
		switch name {
		case "port":
			port = value
		case "live":
			live = value
		case "archive":
			archive = value
		}
	}
	out := []string{"franzfs", "serve", "--live", live, "--listen", "none"}
	if os.Getenv("FRANZFS_FRANZD_REMOTE") == "1" {
		out = append(out, "--franzd", "0.0.0.0:"+port, "--franzd-unauthenticated-remote")
	} else {
		out = append(out, "--franzd", ":"+port)
	}
	if archive != "" {
		out = append(out, "--archive", archive)
	}
	return out, nil
}
