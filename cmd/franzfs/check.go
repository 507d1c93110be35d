package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/franzfs/franzfs/store"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "verify a stream and say what is wrong",
		ArgsUsage: "STREAM",
		Description: `Reads the whole stream and verifies every rule of the franz format: whole
offsets tuples, end offsets that never decrease and lie within payloads,
tag postings ascending and naming existing
records. Names the first bad record and the byte where it lies. Traces of an
unfinished write (which readers skip and the next writer cuts) are notes,
not problems. Exits 4 if there is a problem. An index whose values
decrease (franz's writer allows it) is a note.`,
		Flags:  append([]cli.Flag{liveFlag}, s3Flags...),
		Action: runCheck,
	}
}

func runCheck(ctx context.Context, cmd *cli.Command) error {
	s, done, err := openStream(ctx, cmd)
	if err != nil {
		return err
	}
	defer done()
	r, err := s.CheckContext(ctx)
	if err != nil {
		return err
	}
	for _, n := range r.Notes {
		fmt.Printf("note: %s\n", n)
	}
	for _, p := range r.Problems {
		fmt.Printf("problem: %s\n", p)
	}
	if !r.OK() {
		return fmt.Errorf("stream %s: %d problems, the first: %s: %w", s.Name(), len(r.Problems), r.Problems[0], store.ErrCorrupt)
	}
	fmt.Printf("ok: %s: %d records\n", s.Name(), r.Records)
	return nil
}
