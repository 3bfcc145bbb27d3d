package storage

// AckHistoryMax bounds the answer history kept per (alert, member): a
// RecordAcks that stores an answer drops that member's answers to that
// alert beyond the newest AckHistoryMax (in the order they were recorded).
// The latest answer itself lives on the delivery row and is never dropped;
// the history is for reading back how an answer changed, and one client
// looping on "ack" must not grow it without end (issue 13: 16,000 rows in
// 8 s from one connection).
const AckHistoryMax = 20

// SameAnswer tells whether two answers say the same thing (response, eta
// and note) from the same hand (By): RecordAcks stores an answer equal to
// the member's answer before it only once. A member confirming itself what
// a patrol recorded for it is a new answer (it clears the patrol's name).
func SameAnswer(a, b *Ack) bool {
	if a.Response != b.Response || a.By != b.By || a.Note != b.Note || (a.EtaMin == nil) != (b.EtaMin == nil) {
		return false
	}
	return a.EtaMin == nil || *a.EtaMin == *b.EtaMin
}
