package bench

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"
)

// PlotPoint is one measurement on a recall-vs-QPS curve. Label (for
// example "ef=64") is shown as a tooltip.
type PlotPoint struct {
	Recall, QPS float64
	Label       string
}

// PlotSeries is one curve of a recall-vs-QPS plot.
type PlotSeries struct {
	Name   string
	Points []PlotPoint
}

// Plot geometry, in SVG user units (pixels).
const (
	plotW       = 800
	plotH       = 560
	plotLeft    = 78  // x of the plot area's left edge
	plotTop     = 52  // y of the plot area's top edge
	plotRight   = 570 // x of the plot area's right edge
	plotBottom  = 490 // y of the plot area's bottom edge
	legendX     = 586
	legendRowH  = 20
	legendChars = 22 // longer series names are shortened in the legend
)

// plotColors is a palette of clearly distinct colours (Tableau 10).
var plotColors = []string{
	"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
	"#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
}

// plotMarkers is the number of marker shapes; with the colours they give
// 50 distinct series styles.
const plotMarkers = 5

// WritePlotSVG writes an SVG plot of recall (x, linear, up to 1.0) against
// QPS (y, log10) with one polyline per series, in the style of
// ann-benchmarks' plots: up and to the right is better. Points with a
// non-positive or non-finite QPS, or a recall outside [0, 1] (or NaN), are
// skipped. Each series gets its own colour and marker, sorted by recall,
// and a legend entry; marker tooltips show the point's label.
func WritePlotSVG(w io.Writer, title, xLabel, yLabel string, series []PlotSeries) error {
	type pt struct {
		x, y  float64
		label string
	}
	clean := make([][]pt, len(series))
	xMin := math.Inf(1)
	yMin, yMax := math.Inf(1), math.Inf(-1)
	for i, s := range series {
		for _, p := range s.Points {
			if !finite(p.Recall) || p.Recall < 0 || p.Recall > 1+1e-9 || !finite(p.QPS) || p.QPS <= 0 {
				continue
			}
			x := math.Min(p.Recall, 1)
			clean[i] = append(clean[i], pt{x, p.QPS, p.Label})
			xMin = math.Min(xMin, x)
			yMin, yMax = math.Min(yMin, p.QPS), math.Max(yMax, p.QPS)
		}
		sort.SliceStable(clean[i], func(a, b int) bool { return clean[i][a].x < clean[i][b].x })
	}
	hasData := !math.IsInf(xMin, 1)

	// x range: a rounded-down minimum up to 1.0, never below 0.
	xLo, xHi, xStep := 0.0, 1.0, 0.1
	if hasData {
		xLo, xStep = recallRange(xMin)
	}
	// y range: whole decades around the data.
	dLo, dHi := 0, 1
	if hasData {
		dLo = int(math.Floor(math.Log10(yMin)))
		dHi = int(math.Ceil(math.Log10(yMax)))
		if dHi <= dLo {
			dHi = dLo + 1
		}
	}
	px := func(x float64) float64 {
		return plotLeft + (x-xLo)/(xHi-xLo)*(plotRight-plotLeft)
	}
	py := func(q float64) float64 {
		return plotBottom - (math.Log10(q)-float64(dLo))/float64(dHi-dLo)*(plotBottom-plotTop)
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="13">
<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>
`, plotW, plotH, plotW, plotH, plotW, plotH)

	// Title and axis labels.
	fmt.Fprintf(&b, `<text x="%d" y="30" text-anchor="middle" font-size="18" font-weight="bold" fill="#222">`, (plotLeft+plotRight)/2)
	escapeXML(&b, title)
	b.WriteString("</text>\n")
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-size="14" fill="#222">`, (plotLeft+plotRight)/2, plotBottom+48)
	escapeXML(&b, xLabel)
	b.WriteString("</text>\n")
	fmt.Fprintf(&b, `<text x="20" y="%d" text-anchor="middle" font-size="14" fill="#222" transform="rotate(-90 20 %d)">`, (plotTop+plotBottom)/2, (plotTop+plotBottom)/2)
	escapeXML(&b, yLabel)
	b.WriteString("</text>\n")

	// Grid and ticks.
	b.WriteString(`<g stroke-width="1" fill="none">` + "\n")
	if dHi-dLo <= 8 {
		for d := dLo; d < dHi; d++ {
			for m := 2; m <= 9; m++ {
				y := py(float64(m) * math.Pow(10, float64(d)))
				fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eeeeee"/>`+"\n", plotLeft, y, plotRight, y)
			}
		}
	}
	for d := dLo; d <= dHi; d += (dHi - dLo + 29) / 30 {
		y := py(math.Pow(10, float64(d)))
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#cccccc"/>`+"\n", plotLeft, y, plotRight, y)
	}
	nx := int(math.Round((xHi - xLo) / xStep))
	for i := 0; i <= nx; i++ {
		x := px(xLo + float64(i)*xStep)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#dddddd"/>`+"\n", x, plotTop, x, plotBottom)
	}
	b.WriteString("</g>\n")
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444" stroke-width="1"/>`+"\n",
		plotLeft, plotTop, plotRight-plotLeft, plotBottom-plotTop)

	b.WriteString(`<g fill="#333" font-size="12">` + "\n")
	decimals := 0
	for st := xStep; st < 1-1e-9 && decimals < 6; st *= 10 {
		decimals++
	}
	for i := 0; i <= nx; i++ {
		v := xLo + float64(i)*xStep
		x := px(v)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#444"/>`, x, plotBottom, x, plotBottom+5)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x, plotBottom+19, strconv.FormatFloat(v, 'f', decimals, 64))
	}
	// With many decades only every stride-th one is labelled.
	stride := (dHi - dLo + 9) / 10
	for d := dLo; d <= dHi; d += stride {
		y := py(math.Pow(10, float64(d)))
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#444"/>`, plotLeft-5, y, plotLeft, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", plotLeft-8, y+4, decadeLabel(d))
	}
	b.WriteString("</g>\n")
	if !hasData {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-size="16" fill="#888">no data</text>`+"\n",
			(plotLeft+plotRight)/2, (plotTop+plotBottom)/2)
	}

	// Curves.
	for i, s := range series {
		pts := clean[i]
		if len(pts) == 0 {
			continue
		}
		color := plotColors[i%len(plotColors)]
		fmt.Fprintf(&b, `<g stroke="%s" fill="%s">`+"\n", color, color)
		b.WriteString(`<polyline fill="none" stroke-width="2" stroke-linejoin="round" points="`)
		for j, p := range pts {
			if j > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%.1f,%.1f", px(p.x), py(p.y))
		}
		b.WriteString(`"/>` + "\n")
		shape := plotShape(i)
		for _, p := range pts {
			writeMarker(&b, shape, px(p.x), py(p.y), 4)
			b.WriteString("<title>")
			escapeXML(&b, s.Name)
			if p.label != "" {
				b.WriteString(" ")
				escapeXML(&b, p.label)
			}
			fmt.Fprintf(&b, ": recall %.4f, %s QPS</title></%s>\n", p.x, formatQPS(p.y), markerElem(shape))
		}
		b.WriteString("</g>\n")
	}

	// Legend, to the right of the plot area.
	if len(series) > 0 {
		maxRows := (plotBottom - plotTop) / legendRowH
		shown := len(series)
		if shown > maxRows {
			shown = maxRows - 1
		}
		b.WriteString(`<g font-size="12" fill="#222">` + "\n")
		for i := 0; i < shown; i++ {
			s := series[i]
			y := float64(plotTop + 10 + i*legendRowH)
			color := plotColors[i%len(plotColors)]
			fmt.Fprintf(&b, `<g stroke="%s" fill="%s"><line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke-width="2"/>`,
				color, color, legendX, y, legendX+24, y)
			writeMarker(&b, plotShape(i), float64(legendX+12), y, 4)
			fmt.Fprintf(&b, "</%s></g>", markerElem(plotShape(i)))
			fmt.Fprintf(&b, `<text x="%d" y="%.1f">`, legendX+32, y+4)
			name := s.Name
			short := shorten(name, legendChars)
			if short != name {
				b.WriteString("<title>")
				escapeXML(&b, name)
				b.WriteString("</title>")
			}
			escapeXML(&b, short)
			if len(clean[i]) == 0 {
				b.WriteString(" (no data)")
			}
			b.WriteString("</text>\n")
		}
		if shown < len(series) {
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#666">… %d more</text>`+"\n",
				legendX, plotTop+14+shown*legendRowH, len(series)-shown)
		}
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")

	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("bench: WritePlotSVG: %w", err)
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// recallRange picks the start of the recall axis for data with minimum lo
// in [0, 1]: lo rounded down to a tick (never below 0, at least one step
// below 1.0), with a step from 0.01, 0.02, 0.05, 0.1 giving at most 10
// intervals up to 1.0.
func recallRange(lo float64) (start, step float64) {
	for _, step = range []float64{0.01, 0.02, 0.05, 0.1} {
		start = math.Max(0, math.Floor(lo/step+1e-9)*step)
		start = math.Min(start, 1-step)
		if (1-start)/step <= 10+1e-9 {
			break
		}
	}
	return start, step
}

// decadeLabel formats 10^d compactly: 1e-4, 0.001, ..., 1, 10, 100, 1k,
// ... 1M, ... 100G, 1e12.
func decadeLabel(d int) string {
	switch {
	case d < -3:
		return "1e" + strconv.Itoa(d)
	case d < 0:
		return strconv.FormatFloat(math.Pow(10, float64(d)), 'f', -d, 64)
	case d < 3:
		return strconv.Itoa(int(math.Pow(10, float64(d))))
	case d < 6:
		return strconv.Itoa(int(math.Pow(10, float64(d-3)))) + "k"
	case d < 9:
		return strconv.Itoa(int(math.Pow(10, float64(d-6)))) + "M"
	case d < 12:
		return strconv.Itoa(int(math.Pow(10, float64(d-9)))) + "G"
	}
	return "1e" + strconv.Itoa(d)
}

func formatQPS(q float64) string {
	if q >= 100 {
		return strconv.FormatFloat(q, 'f', 0, 64)
	}
	return strconv.FormatFloat(q, 'g', 3, 64)
}

// plotShape gives series i a marker shape; with colour i%10 and this shape
// the first 50 series all look different.
func plotShape(i int) int {
	return (i + i/len(plotColors)) % plotMarkers
}

func markerElem(shape int) string {
	switch shape {
	case 0:
		return "circle"
	case 1:
		return "rect"
	}
	return "polygon"
}

// writeMarker writes the opening tag of a marker centred on (x, y); the
// caller closes it with markerElem(shape) after adding any <title>.
func writeMarker(b *bytes.Buffer, shape int, x, y, r float64) {
	switch shape {
	case 0:
		fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="%.1f">`, x, y, r)
	case 1:
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f">`, x-r*0.9, y-r*0.9, 1.8*r, 1.8*r)
	case 2: // triangle up
		fmt.Fprintf(b, `<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f">`, x, y-r*1.2, x+r*1.1, y+r*0.8, x-r*1.1, y+r*0.8)
	case 3: // diamond
		fmt.Fprintf(b, `<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f">`, x, y-r*1.2, x+r*1.2, y, x, y+r*1.2, x-r*1.2, y)
	default: // triangle down
		fmt.Fprintf(b, `<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f">`, x, y+r*1.2, x+r*1.1, y-r*0.8, x-r*1.1, y-r*0.8)
	}
}

// shorten cuts s to at most n runes, ending with an ellipsis if cut.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// escapeXML writes s as XML character data; invalid characters become
// U+FFFD.
func escapeXML(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s))
}
