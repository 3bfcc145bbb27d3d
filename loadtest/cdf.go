package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// cdfSeries is one line of the latency CDF.
type cdfSeries struct {
	Name string
	Ns   []int64 // latencies; sorted by writeCDF
}

// niceStep picks a round tick step (1, 2 or 5 times a power of ten) that
// cuts span into about n parts.
func niceStep(span float64, n int) float64 {
	if span <= 0 {
		return 1
	}
	raw := span / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// writeCDFSVG draws the cumulative distribution of each series' latencies:
// x is milliseconds from the hub's acceptance to the client's receipt, y
// the share of recipients that had it by then.
func writeCDFSVG(w io.Writer, title string, series []cdfSeries) error {
	const (
		width                    = 900
		left, right, top, bottom = 70, 24, 48, 64
		plotW, plotH             = width - left - right, 408
	)
	// The legend sits under the plot, one line per series.
	height := top + plotH + bottom + 20*len(series) + 8
	colors := []string{"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"}
	var maxMs float64
	for i := range series {
		slices.Sort(series[i].Ns)
		if n := len(series[i].Ns); n > 0 {
			maxMs = max(maxMs, float64(series[i].Ns[n-1])/1e6)
		}
	}
	step := niceStep(maxMs, 8)
	xMax := math.Max(step, math.Ceil(maxMs/step)*step)
	x := func(v float64) float64 { return left + v/xMax*plotW }
	y := func(f float64) float64 { return top + (1-f)*plotH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="28" font-size="16" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))
	// Grid and ticks.
	for v := 0.0; v <= xMax+step/2; v += step {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e5e5e5"/>`+"\n", x(v), top, x(v), top+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x(v), top+plotH+18, trimZeros(v))
	}
	for _, f := range []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.99, 1} {
		stroke := "#e5e5e5"
		if f == 0.5 || f == 0.99 {
			stroke = "#bbbbbb"
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`+"\n", left, y(f), left+plotW, y(f), stroke)
		if f == 0.99 { // too close to 1 for a label on the axis
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#888" font-size="10">0.99</text>`+"\n", left+plotW-4, y(f)+11)
			continue
		}
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", left-6, y(f), trimZeros(f))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", left, top, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">latency from acceptance by the server to receipt by the client (ms)</text>`+"\n", left+plotW/2, top+plotH+42)
	fmt.Fprintf(&b, `<text transform="translate(18 %d) rotate(-90)" text-anchor="middle">share of recipients</text>`+"\n", top+plotH/2)
	// Lines, at most ~2,000 points each.
	for i, s := range series {
		n := len(s.Ns)
		if n == 0 {
			continue
		}
		color := colors[i%len(colors)]
		stride := max(1, n/2000)
		var pts strings.Builder
		fmt.Fprintf(&pts, "%.1f,%.1f ", x(float64(s.Ns[0])/1e6), y(0))
		for j := 0; j < n; j += stride {
			fmt.Fprintf(&pts, "%.1f,%.1f ", x(float64(s.Ns[j])/1e6), y(float64(j+1)/float64(n)))
		}
		fmt.Fprintf(&pts, "%.1f,%.1f", x(float64(s.Ns[n-1])/1e6), y(1))
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color, pts.String())
		l := summarize(s.Ns)
		ly := top + plotH + bottom + 12 + i*20
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", left, ly-4, left+24, ly-4, color)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", left+30, ly,
			html.EscapeString(fmt.Sprintf("%s: n=%d, p50 %s, p90 %s, p99 %s, max %s", s.Name, n, fmtMs(l.P50), fmtMs(l.P90), fmtMs(l.P99), fmtMs(l.Max))))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func trimZeros(v float64) string {
	s := formatFloat(v, 3)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// drawCDF writes the run's latency CDF: the hub's alerts, its bulletin and
// the floor, whichever ran.
func (r *runner) drawCDF(path string) error {
	var ss []cdfSeries
	if len(r.alertLat) > 0 {
		ss = append(ss, cdfSeries{Name: fmt.Sprintf("hub alert, K=%d ×%d", r.cfg.k, r.cfg.repeat), Ns: r.alertLat})
	}
	if len(r.bulletinAt) > 0 {
		ss = append(ss, cdfSeries{Name: "hub bulletin", Ns: r.bulletinAt})
	}
	if len(r.floorLat) > 0 {
		ss = append(ss, cdfSeries{Name: fmt.Sprintf("floor, N=%d ×%d", r.cfg.n, r.cfg.repeat), Ns: r.floorLat})
	}
	if len(ss) == 0 {
		return fmt.Errorf("no latencies were measured (run alert, bulletin or baseline)")
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeCDFSVG(f, "Delivery latency CDF", ss); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
