package postgres

import (
	"testing"

	"github.com/longyou/hub/storage"
	"github.com/longyou/hub/storage/storetest"
)

// TestBehalf runs the conformance group of issue 12's answers on behalf
// and SMS queue counts.
func TestBehalf(t *testing.T) {
	storetest.RunBehalf(t, func(t *testing.T) storage.Store { return NewTestStore(t) })
}

func BenchmarkQueue(b *testing.B) {
	storetest.BenchQueue(b, func(b *testing.B) storage.Store { return NewTestStore(b) })
}
