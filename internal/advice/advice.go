// Package advice makes the errors a user acts on: one line that says what
// happened and what to do, while errors.Is still finds their kind (and so
// the exit code or errno), which the line does not repeat.
package advice

import "fmt"

type advice struct {
	msg  string
	kind error
}

// New returns an error reading as format says, of the given kind.
func New(kind error, format string, args ...any) error {
	return &advice{fmt.Sprintf(format, args...), kind}
}

func (e *advice) Error() string { return e.msg }
func (e *advice) Unwrap() error { return e.kind }
