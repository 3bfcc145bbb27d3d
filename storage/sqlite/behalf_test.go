package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/longyou/hub/storage"
	"github.com/longyou/hub/storage/storetest"
)

// TestBehalf runs the conformance group of issue 12's answers on behalf
// and SMS queue counts.
func TestBehalf(t *testing.T) {
	t.Parallel()
	storetest.RunBehalf(t, func(t *testing.T) storage.Store {
		return open(t, filepath.Join(t.TempDir(), "hub.db"))
	})
}

func BenchmarkQueue(b *testing.B) {
	storetest.BenchQueue(b, func(b *testing.B) storage.Store {
		return open(b, filepath.Join(b.TempDir(), "hub.db"))
	})
}
