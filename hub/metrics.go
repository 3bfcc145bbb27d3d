package hub

import (
	"math/rand/v2"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

type metrics struct {
	connections   prometheus.GaugeFunc
	connects      prometheus.Counter
	fannedOut     *prometheus.CounterVec
	fanoutLatency prometheus.Histogram
	drops         *prometheus.CounterVec
	stored        *prometheus.CounterVec
	panics        *prometheus.CounterVec
	requests      *prometheus.CounterVec
	acks          prometheus.Counter
	ackBatches    prometheus.Histogram
	sms           *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry, h *Hub) *metrics {
	m := &metrics{
		connections: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hub_connections", Help: "Open WebSocket connections on this node.",
		}, func() float64 { return float64(h.conns.count()) }),
		connects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hub_connects_total", Help: "WebSocket connections accepted.",
		}),
		fannedOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hub_events_fanned_out_total", Help: "Event frames handed to connections, by event type.",
		}, []string{"type"}),
		fanoutLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hub_fanout_latency_seconds",
			Help:    "From an event's acceptance to its frame written on a connection.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hub_drops_total", Help: "Frames dropped or clients disconnected, by reason.",
		}, []string{"reason"}),
		stored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hub_events_stored_total", Help: "Events appended to the store by this node, by type.",
		}, []string{"type"}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hub_panics_recovered_total", Help: "Panics recovered, by where.",
		}, []string{"where"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hub_http_requests_total", Help: "HTTP API requests, by route and status code.",
		}, []string{"route", "code"}),
		acks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hub_acks_stored_total", Help: "Alert answers stored.",
		}),
		ackBatches: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hub_ack_batch_size", Help: "Answers per store transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 7),
		}),
		sms: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hub_sms_total", Help: "SMS send attempts, by outcome.",
		}, []string{"outcome"}),
	}
	reg.MustRegister(m.connections, m.connects, m.fannedOut, m.fanoutLatency, m.drops,
		m.stored, m.panics, m.requests, m.acks, m.ackBatches, m.sms,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func randIntn(n int) int { return rand.IntN(n) }
