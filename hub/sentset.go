package hub

import "slices"

// sentSet is what a connection has sent, for "no event twice on one
// connection" (docs/API.md, resume), in bounded memory: the seqs above a
// low-water mark exactly, in a window of at most Config.SentWindow, and
// everything at or below the mark counted as sent. Before, the list of
// every seq sent grew for the connection's whole life (issue 13, item 9).
//
// When the window is full, its lowest quarter is dropped and the mark
// rises to the highest seq dropped. Why that keeps every connection's
// stream exactly-once in practice, case by case (a seq at or below the
// mark is only ever wrongly taken for sent if it was never sent here):
//
//   - Nothing is ever sent twice: a seq above the mark is checked against
//     the exact window, one at or below it is not sent again (bar the
//     move-in case below, sent once by construction).
//   - Live events come from the node's sequencer in seq order. The window
//     holds the SentWindow highest seqs sent, so when a live event at or
//     below the mark arrives, at least SentWindow seqs above it were sent
//     before it, and none of them live (order). They came from replays.
//     A resume replays, in order, every event addressed to the member in
//     (since, newest]: if since < seq, the event was replayed (sent), and
//     if since >= seq the client said it had it. The active alerts a
//     welcome or resume sends are the other replays, one per active alert:
//     a thousand of them at once is not a flood county's day.
//   - A resume whose since is at or above the mark (what every client
//     sends: the newest seq it saw, and the mark is below every seq in the
//     window) is answered exactly as before.
//   - A resume whose since is below the mark (a client resuming again, on
//     the same connection, from further back than this connection
//     remembers) is answered from the mark: the reply's "from" says so,
//     and a new connection (whose set is empty) replays from any since.
//     This also makes a loop of resume since=0 cheap: it no longer reads
//     the member's whole history each time (issue 13: a resume flood took
//     a core).
//   - An alert pushed to a member who moved into its area (an envelope
//     marked Replay, with the alert's old seq) was never sent on the
//     connection before (the member was not addressed), so it is sent even
//     at or below the mark (moveIn), and recorded when above it. A replay
//     of that alert by a resume running at the same moment is either above
//     the mark (the window sees both) or below it (the replay counts it as
//     sent and the push sends it): once either way.
//
// 8 bytes a seq: 8 KiB at most for the default window of 1,024.
type sentSet struct {
	floor int64   // every seq <= floor counts as sent
	seqs  []int64 // the seqs > floor sent, ascending, at most the window
}

// mark records seq as sent and reports whether it was new (to be sent).
// window bounds seqs; moveIn is set for an alert pushed to a member who
// moved into its area (see the type's comment).
func (s *sentSet) mark(seq int64, window int, moveIn bool) bool {
	if seq == 0 {
		return true // not an event: welcome, replies, progress
	}
	if seq <= s.floor {
		return moveIn
	}
	n := len(s.seqs)
	i := n
	if n > 0 && s.seqs[n-1] >= seq {
		var dup bool
		if i, dup = slices.BinarySearch(s.seqs, seq); dup {
			return false
		}
	}
	if n >= window {
		// Drop the lowest quarter: one copy per window/4 new seqs.
		k := max(1, window/4)
		s.floor = s.seqs[k-1]
		copy(s.seqs, s.seqs[k:])
		s.seqs = s.seqs[:n-k]
		if seq <= s.floor {
			return true // new, and now below the mark: counted as sent
		}
		i -= k
	}
	if len(s.seqs) == cap(s.seqs) {
		// Grow by doubling, but never past the window (append would).
		grown := make([]int64, len(s.seqs), min(max(4, 2*cap(s.seqs)), window))
		copy(grown, s.seqs)
		s.seqs = grown
	}
	s.seqs = slices.Insert(s.seqs, i, seq)
	return true
}
