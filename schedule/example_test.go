package schedule_test

import (
	"context"
	"fmt"
	"time"

	"github.com/longyou/hub/schedule"
	"github.com/longyou/hub/schedule/schedtest"
)

// A service re-schedules from the store on start: the store's due_at is the
// truth, a job only says "look at this report again then", and the job
// re-reads the report before acting.
func Example() {
	clock := schedtest.NewClock(time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC))
	s := schedule.New(clock, schedule.Config{})
	go s.Run(context.Background())
	defer s.Close()

	// What the store says is open (ListReports with status new/accepted/...).
	open := []struct {
		id    string
		dueAt time.Time
	}{
		{"r_1", clock.Now().Add(-5 * time.Minute)}, // overdue while the hub was down
		{"r_2", clock.Now().Add(30 * time.Minute)},
	}
	done := make(chan string)
	for _, r := range open {
		_ = s.Schedule("report/"+r.id, r.dueAt, func(ctx context.Context) {
			// Re-read the report; remind only if it is still open.
			done <- r.id
		})
	}
	fmt.Println("at once:", <-done)
	clock.Advance(30 * time.Minute)
	fmt.Println("30 minutes later:", <-done)
	// Output:
	// at once: r_1
	// 30 minutes later: r_2
}
