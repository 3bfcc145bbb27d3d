package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// WAL checkpoints run in the background, not in a commit.
//
// With SQLite's default (wal_autocheckpoint=1000) the commit that takes the
// WAL past 1,000 pages copies them into the database file and fsyncs it
// before it returns: a big alert's delivery rows are several hundred pages,
// so every second or third alert's 201 waited ~100 ms for a checkpoint of
// the previous one's rows (seen as POST /alerts spikes of 120-150 ms against
// 25-50 ms in load tests). The writer runs with wal_autocheckpoint=0 and
// this loop checkpoints from a connection of its own: PASSIVE runs beside
// the writer and the readers without blocking either; SQLite restarts the
// WAL from its beginning on the next write once everything in it is
// checkpointed. Should readers keep the WAL from being checkpointed fully
// while it grows past walRestartBytes, a RESTART checkpoint (which waits
// for them, and briefly holds the writer) bounds it.
const (
	checkpointEvery = 500 * time.Millisecond
	walRestartBytes = 256 << 20
)

func (s *Store) checkpointer(db *sql.DB, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-stop
		cancel()
	}()
	var lastFrames int64 = -1
	for {
		select {
		case <-t.C:
		case <-stop:
			return
		}
		var busy, logFrames, checkpointed int64
		err := db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &checkpointed)
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Warn("sqlite checkpoint failed", slog.Any("err", err))
			}
			continue
		}
		if logFrames == lastFrames {
			continue
		}
		lastFrames = logFrames
		if logFrames > 0 && checkpointed < logFrames && logFrames*int64(s.pageSize) > walRestartBytes {
			s.logger.Info("sqlite WAL is large and readers hold it; running a RESTART checkpoint",
				slog.Int64("frames", logFrames), slog.Int64("checkpointed", checkpointed))
			if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(RESTART)`); err != nil && ctx.Err() == nil {
				s.logger.Warn("sqlite RESTART checkpoint failed", slog.Any("err", err))
			}
		}
	}
}
