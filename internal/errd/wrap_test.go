package errd

import (
	"errors"
	"testing"
)

func TestWrap(t *testing.T) {
	t.Parallel()
	cause := errors.New("boom")
	f := func(fail bool) (err error) {
		defer Wrap(&err, "doing things")
		if fail {
			return cause
		}
		return nil
	}
	if err := f(false); err != nil {
		t.Fatalf("no error: got %v", err)
	}
	err := f(true)
	if err == nil || err.Error() != "doing things: boom" || !errors.Is(err, cause) {
		t.Fatalf("wrapped error: %v (is cause: %v)", err, errors.Is(err, cause))
	}
}
