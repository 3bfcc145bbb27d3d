package main

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// latency summarises a set of durations, in milliseconds.
type latency struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
	Min  float64 `json:"min_ms"`
}

// summarize sorts ns in place and returns its percentiles (nearest rank).
func summarize(ns []int64) latency {
	if len(ns) == 0 {
		return latency{}
	}
	slices.Sort(ns)
	var total float64
	for _, v := range ns {
		total += float64(v)
	}
	return latency{
		N: len(ns), P50: ms(percentile(ns, 50)), P90: ms(percentile(ns, 90)), P99: ms(percentile(ns, 99)),
		Max: ms(ns[len(ns)-1]), Min: ms(ns[0]), Mean: round3(total / float64(len(ns)) / 1e6),
	}
}

// percentile of sorted values, nearest rank.
func percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func ms(ns int64) float64 { return round3(float64(ns) / 1e6) }

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// rate is count per second over the span from start to end (unix ns).
func rate(count int, start, end int64) float64 {
	if count == 0 || end <= start {
		return 0
	}
	return round1(float64(count) / (float64(end-start) / 1e9))
}

func seconds(start, end int64) float64 {
	if end <= start {
		return 0
	}
	return round3(float64(end-start) / 1e9)
}

func formatFloat(f float64, prec int) string { return strconv.FormatFloat(f, 'f', prec, 64) }

// group writes n with thousands separators: 12,345.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func groupf(f float64) string { return group(int64(math.Round(f))) }

// fmtMs writes milliseconds with sensible precision.
func fmtMs(v float64) string {
	switch {
	case v >= 100:
		return formatFloat(v, 0) + " ms"
	case v >= 10:
		return formatFloat(v, 1) + " ms"
	default:
		return formatFloat(v, 2) + " ms"
	}
}

// fmtBytes writes a byte count in KiB/MiB.
func fmtBytes(b float64) string {
	switch {
	case math.Abs(b) >= 1<<30:
		return formatFloat(b/(1<<30), 2) + " GiB"
	case math.Abs(b) >= 1<<20:
		return formatFloat(b/(1<<20), 1) + " MiB"
	case math.Abs(b) >= 1<<10:
		return formatFloat(b/(1<<10), 1) + " KiB"
	}
	return formatFloat(b, 0) + " B"
}

func since(t time.Time) float64 { return round3(time.Since(t).Seconds()) }
