package main

import (
	"maps"
	"sync"
	"sync/atomic"
)

// receipts records, for one event (an alert, a cancel, a bulletin), when
// each client of a worker first received it and how many times. Slots are
// the worker's client indexes; marking is lock-free because every client's
// reader goroutine marks concurrently.
type receipts struct {
	first    []atomic.Int64 // unix ns of the first receipt; 0: never
	times    []atomic.Int32
	distinct atomic.Int64
	bytes    atomic.Int64
}

func newReceipts(slots int) *receipts {
	return &receipts{first: make([]atomic.Int64, slots), times: make([]atomic.Int32, slots)}
}

func (r *receipts) mark(slot int, at int64, size int) {
	if r.first[slot].CompareAndSwap(0, at) {
		r.distinct.Add(1)
	}
	r.times[slot].Add(1)
	r.bytes.Store(int64(size))
}

// receiptBook holds the receipts of every event a worker has seen.
type receiptBook struct {
	slots int
	m     sync.Map // key -> *receipts
	mu    sync.Mutex
}

func newReceiptBook(slots int) *receiptBook { return &receiptBook{slots: slots} }

// get returns the receipts for key, creating them when create is true.
func (b *receiptBook) get(key string, create bool) *receipts {
	if r, ok := b.m.Load(key); ok {
		return r.(*receipts)
	}
	if !create {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if r, ok := b.m.Load(key); ok {
		return r.(*receipts)
	}
	r := newReceipts(b.slots)
	b.m.Store(key, r)
	return r
}

// errCounter counts errors by kind.
type errCounter struct {
	mu sync.Mutex // guards m
	m  map[string]int64
}

func (e *errCounter) add(kind string, n int64) {
	e.mu.Lock()
	if e.m == nil {
		e.m = make(map[string]int64)
	}
	e.m[kind] += n
	e.mu.Unlock()
}

func (e *errCounter) snapshot() map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.m)
}

func (e *errCounter) total() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var n int64
	for _, v := range e.m {
		n += v
	}
	return n
}
