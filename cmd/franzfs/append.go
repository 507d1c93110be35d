package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/franzfs/franzfs/internal/advice"
	"github.com/franzfs/franzfs/store"
)

func appendCommand() *cli.Command {
	return &cli.Command{
		Name:      "append",
		Usage:     "append standard input to a stream, as one record or one per line",
		ArgsUsage: "STREAM",
		Description: `Appends standard input to the stream named STREAM under --live, creating it
on its first append, or through a daemon with --server URL. A new stream
gets the index time, plus any index named with --index. Records with no
time value are stamped with their arrival in Unix nanoseconds. Prints the
numbers assigned as JSON: {"first":N,"count":K}. With --lines, lines are
readable as soon as they arrive, and Ctrl-C keeps the whole lines read
(exit 130).

   echo '{"level":"error"}' | franzfs append --live /srv/live --tag error app/events
   franzfs append --live /srv/live --lines --index temp=21 sensors < readings.txt
   tail -F app.log | franzfs append --live /srv/live --lines app/log`,
		Flags: []cli.Flag{
			liveFlag,
			serverFlag,
			&cli.BoolFlag{Name: "lines", Usage: "append each line of input as a record, its newline kept"},
			&cli.StringSliceFlag{Name: "index", Usage: "`NAME=V`: every record's value of index NAME (repeatable); time also takes RFC 3339 times"},
			&cli.StringSliceFlag{Name: "tag", Usage: "tag every record with `T` (repeatable)"},
			&cli.StringFlag{Name: "sync", Value: "none", Usage: "when an append is done: none (in the kernel), batch or always (on disk)"},
		},
		Action: runAppend,
	}
}

func runAppend(ctx context.Context, cmd *cli.Command) error {
	name, err := oneArg(cmd, "STREAM")
	if err != nil {
		return err
	}
	if cmd.String("server") != "" {
		if err := store.ValidStreamName(name); err != nil {
			return err
		}
		return appendRemote(ctx, cmd, name)
	}
	if cmd.String("live") == "" {
		return usageError("append needs --live DIR or --server URL")
	}
	// The first append makes the live root too.
	if err := os.MkdirAll(cmd.String("live"), 0o755); err != nil {
		return err
	}
	root, err := openLive(cmd)
	if err != nil {
		return err
	}
	defer root.Close()
	sync, err := store.ParseSync(cmd.String("sync"))
	if err != nil {
		return usageError("%v", err)
	}
	given, order, err := parseIndexFlags(cmd.StringSlice("index"))
	if err != nil {
		return err
	}
	tags := cmd.StringSlice("tag")
	for _, t := range tags {
		if err := store.ValidTag(t); err != nil {
			return err
		}
	}
	w, err := store.OpenWriterIn(root, name, store.WriterOptions{
		Create:  true,
		Indices: newStreamIndices(order),
		Sync:    sync,
		Buffer:  1 << 20,
	})
	if errors.Is(err, store.ErrLocked) {
		return advice.New(store.ErrLocked, "%v: wait until that writer is done, or append through the daemon that holds it (franzfs append --server URL), which lets go of a stream after --idle-close without appends", err)
	}
	if err != nil {
		return err
	}
	defer w.Close()
	values, err := recordValues(w.Indices(), given)
	if err != nil {
		return fmt.Errorf("stream %s: %w", name, err)
	}
	first := w.Len()
	in := interruptible(ctx, os.Stdin)
	var readErr error
	if cmd.Bool("lines") {
		readErr = appendLines(w, in, values, tags)
	} else {
		var payload []byte
		if payload, readErr = io.ReadAll(in); readErr == nil {
			_, readErr = w.Append(store.Record{Payload: payload, Index: values, Tags: tags})
		}
	}
	if readErr != nil && !errors.Is(readErr, context.Canceled) {
		return readErr
	}
	// Interrupted, the whole lines read so far are kept and acknowledged.
	if err := w.Close(); err != nil {
		return err
	}
	err = json.NewEncoder(os.Stdout).Encode(struct {
		First int64 `json:"first"`
		Count int64 `json:"count"`
	}{first, w.Len() - first})
	return cmp.Or(readErr, err)
}

// parseIndexFlags parses NAME=V flags into values by name, in order given.
func parseIndexFlags(flags []string) (map[string]int64, []string, error) {
	given := map[string]int64{}
	var order []string
	now := time.Now()
	for _, f := range flags {
		name, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, nil, usageError("--index %q: want NAME=VALUE", f)
		}
		// Any name a stream has (--index =V for franz's unnamed index);
		// creating a stream checks the names it gets.
		value, err := store.ParseIndexValue(name, v, now)
		if err != nil {
			return nil, nil, err
		}
		if _, dup := given[name]; dup {
			return nil, nil, usageError("--index %s given twice", name)
		}
		given[name] = value
		order = append(order, name)
	}
	return given, order, nil
}

// newStreamIndices are the indices of a stream append creates: time, then
// the ones named on the command line.
func newStreamIndices(named []string) []string {
	return append([]string{store.TimeIndex}, slices.DeleteFunc(slices.Clone(named), func(n string) bool { return n == store.TimeIndex })...)
}

// recordValues orders the given values as the stream's indices, stamping
// time where it is not given.
func recordValues(indices []string, given map[string]int64) ([]int64, error) {
	values := make([]int64, len(indices))
	for i, name := range indices {
		v, ok := given[name]
		switch {
		case ok:
			values[i] = v
		case name == store.TimeIndex:
			values[i] = store.Now
		default:
			return nil, fmt.Errorf("%w: the stream has index %s: give --index %s=V", store.ErrBadRecord, name, name)
		}
	}
	for name := range given {
		if !slices.Contains(indices, name) {
			return nil, fmt.Errorf("%w: the stream has no index %s (it has %q)", store.ErrBadRecord, name, indices)
		}
	}
	return values, nil
}

// appendLines appends each line of r as a record, in batches.
func appendLines(w *store.Writer, r io.Reader, values []int64, tags []string) error {
	in := bufio.NewReaderSize(r, 1<<20)
	var b store.Batch
	var long []byte // a line longer than in's buffer
	for {
		line, err := in.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long[:0], line...)
			for err == bufio.ErrBufferFull {
				line, err = in.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > 0 && (err == nil || !errors.Is(err, context.Canceled)) { // not a line cut short
			b.Add(line, values...) // copies line, which the next read overwrites
			if len(tags) > 0 {
				b.Tag(tags...)
			}
		}
		// Committed before a read that may block, so that records piped in
		// slowly (tail -f log | franzfs append --lines) show as they come.
		waiting := nextLineWaits(in)
		if b.Len() > 0 && (b.Len() == 1024 || err != nil || waiting) {
			if _, err := w.Commit(&b); err != nil {
				return err
			}
			if waiting {
				if err := w.Flush(); err != nil {
					return err
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// nextLineWaits says the next line has not all arrived: reading it may
// block. It looks only as far as the next newline, so lines cost linear time.
func nextLineWaits(in *bufio.Reader) bool {
	buf, _ := in.Peek(in.Buffered())
	return bytes.IndexByte(buf, '\n') < 0
}
