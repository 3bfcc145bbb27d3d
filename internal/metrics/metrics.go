// Package metrics holds the Prometheus metrics every part of a node
// reports into, so that the core, the services, the API and the SMS
// dispatcher count into the same series they did as one package.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are a node's counters. The connection gauge is registered by
// hub.Node itself (it reads the registry).
type Metrics struct {
	Registry      *prometheus.Registry
	Connects      prometheus.Counter
	FannedOut     *prometheus.CounterVec
	FanoutLatency prometheus.Histogram
	Drops         *prometheus.CounterVec
	Stored        *prometheus.CounterVec
	Panics        *prometheus.CounterVec
	Requests      *prometheus.CounterVec
	Acks          prometheus.Counter
	AckBatches    prometheus.Histogram
	SMS           *prometheus.CounterVec

	// The live stream's order and the broker (cluster).
	SeqGaps          prometheus.Counter
	SeqDuplicates    prometheus.Counter
	CatchUps         *prometheus.CounterVec
	BrokerPublishes  *prometheus.CounterVec
	BrokerReceives   *prometheus.CounterVec
	BrokerBytesIn    *prometheus.CounterVec
	BrokerBytesOut   prometheus.Counter
	BrokerPublishErr prometheus.Counter
	// ReportsOverdue counts the open reports the due-time job found past
	// their due_at (service/reports).
	ReportsOverdue prometheus.Counter
}

// New registers the metrics, with the Go and process collectors, on reg.
func New(reg *prometheus.Registry) *Metrics {
	m := &Metrics{
		Registry: reg,
		Connects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hub_connects_total", Help: "WebSocket connections accepted.",
		}),
		FannedOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hub_events_fanned_out_total", Help: "Event frames handed to connections, by event type.",
		}, []string{"type"}),
		FanoutLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hub_fanout_latency_seconds",
			Help:    "From an event's acceptance to its frame written on a connection.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		Drops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hub_drops_total", Help: "Frames dropped or clients disconnected, by reason.",
		}, []string{"reason"}),
		Stored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hub_events_stored_total", Help: "Events appended to the store by this node, by type.",
		}, []string{"type"}),
		Panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hub_panics_recovered_total", Help: "Panics recovered, by where.",
		}, []string{"where"}),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hub_http_requests_total", Help: "HTTP API requests, by route and status code.",
		}, []string{"route", "code"}),
		Acks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hub_acks_stored_total", Help: "Alert answers stored.",
		}),
		AckBatches: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hub_ack_batch_size", Help: "Answers per store transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 7),
		}),
		SMS: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hub_sms_total", Help: "SMS send attempts, by outcome.",
		}, []string{"outcome"}),
		SeqGaps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hub_seq_gaps_total", Help: "Times an envelope arrived ahead of a seq not yet delivered here.",
		}),
		SeqDuplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hub_seq_duplicates_total", Help: "Envelopes whose seq was already delivered here (from the store or the broker).",
		}),
		CatchUps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hub_catchups_total", Help: "Reads of missed events from the store, by why (gap, poll, resubscribe).",
		}, []string{"why"}),
		BrokerPublishes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hub_broker_publishes_total", Help: "Envelopes this node published to the broker, by type.",
		}, []string{"type"}),
		BrokerReceives: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hub_broker_receives_total", Help: "Envelopes this node received from other nodes, by type.",
		}, []string{"type"}),
		BrokerBytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hub_broker_received_bytes_total", Help: "Bytes of broker messages received from other nodes, by type.",
		}, []string{"type"}),
		BrokerBytesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hub_broker_published_bytes_total", Help: "Bytes of broker messages published.",
		}),
		BrokerPublishErr: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hub_broker_publish_errors_total", Help: "Broker publishes that failed (the store has the event; nodes catch up).",
		}),
		ReportsOverdue: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hub_reports_overdue_total", Help: "Open reports found past their due time.",
		}),
	}
	reg.MustRegister(m.Connects, m.FannedOut, m.FanoutLatency, m.Drops,
		m.Stored, m.Panics, m.Requests, m.Acks, m.AckBatches, m.SMS, m.ReportsOverdue,
		m.SeqGaps, m.SeqDuplicates, m.CatchUps, m.BrokerPublishes, m.BrokerReceives,
		m.BrokerBytesIn, m.BrokerBytesOut, m.BrokerPublishErr,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
