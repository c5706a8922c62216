package bench

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"strings"
	"testing"
)

// walkSVG decodes the whole document and counts elements by local name.
func walkSVG(t *testing.T, svg []byte) map[string]int {
	t.Helper()
	counts := map[string]int{}
	d := xml.NewDecoder(bytes.NewReader(svg))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("invalid XML: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok {
			counts[se.Name.Local]++
		}
	}
	if counts["svg"] != 1 {
		t.Fatalf("%d <svg> elements", counts["svg"])
	}
	return counts
}

func samplePlotSeries() []PlotSeries {
	curve := func(name string, scale float64) PlotSeries {
		s := PlotSeries{Name: name}
		for i, ef := range []int{256, 16, 32, 64, 128, 10} { // unsorted on purpose
			r := 1 - 0.5/math.Sqrt(float64(ef))*scale
			s.Points = append(s.Points, PlotPoint{Recall: r, QPS: 4e5 / float64(ef) * scale, Label: "ef=" + string(rune('0'+i))})
		}
		return s
	}
	return []PlotSeries{
		curve("rosetta HNSW (M=16)", 1),
		curve("coder/hnsw <baseline> & co", 0.6),
		curve("brute force", 0.2),
		{Name: "empty"},
	}
}

func TestPlotSVG(t *testing.T) {
	series := samplePlotSeries()
	var buf bytes.Buffer
	if err := WritePlotSVG(&buf, "recall@10 vs QPS — sift-128 <k=10>", "recall@10", "queries per second (1 thread)", series); err != nil {
		t.Fatal(err)
	}
	svg := buf.Bytes()
	counts := walkSVG(t, svg)
	if counts["polyline"] != 3 {
		t.Errorf("%d polylines, want 3 (one per non-empty series)", counts["polyline"])
	}
	for _, s := range series {
		var esc bytes.Buffer
		_ = xml.EscapeText(&esc, []byte(s.Name))
		if !bytes.Contains(svg, esc.Bytes()) {
			t.Errorf("series name %q missing", s.Name)
		}
	}
	for _, want := range []string{"sans-serif", `fill="#ffffff"`, "recall@10", "&lt;k=10&gt;", "1k", "100k", "ef=3"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("output lacks %q", want)
		}
	}
	if err := os.WriteFile("/tmp/plot_sample.svg", svg, 0o644); err != nil {
		t.Logf("could not write sample: %v", err)
	}
}

func TestPlotEdgeCases(t *testing.T) {
	nan := math.NaN()
	cases := map[string]struct {
		series    []PlotSeries
		polylines int
	}{
		"nil":          {nil, 0},
		"empty series": {[]PlotSeries{{Name: "a"}, {Name: "b"}}, 0},
		"single point": {[]PlotSeries{{Name: "one", Points: []PlotPoint{{Recall: 0.9, QPS: 1234}}}}, 1},
		"recall 1":     {[]PlotSeries{{Name: "one", Points: []PlotPoint{{Recall: 1, QPS: 10}, {Recall: 1, QPS: 1000}}}}, 1},
		"recall 0":     {[]PlotSeries{{Name: "zero", Points: []PlotPoint{{Recall: 0, QPS: 0.5}}}}, 1},
		"all invalid": {[]PlotSeries{{Name: "bad", Points: []PlotPoint{
			{Recall: 0.5, QPS: 0}, {Recall: 0.5, QPS: -3}, {Recall: nan, QPS: 10}, {Recall: 0.5, QPS: nan},
			{Recall: 0.5, QPS: math.Inf(1)}, {Recall: -0.1, QPS: 10}, {Recall: 1.5, QPS: 10}, {Recall: math.Inf(1), QPS: 10},
		}}}, 0},
		"some invalid": {[]PlotSeries{{Name: "mixed", Points: []PlotPoint{{Recall: 0.5, QPS: 0}, {Recall: 0.7, QPS: 100}, {Recall: nan, QPS: 1}}}}, 1},
		"huge range":   {[]PlotSeries{{Name: "wide", Points: []PlotPoint{{Recall: 0.01, QPS: 1e-30}, {Recall: 0.99, QPS: 1e300}}}}, 1},
		"bad text":     {[]PlotSeries{{Name: "ctl\x00\x01<&>\"'\xff" + strings.Repeat("long ", 20), Points: []PlotPoint{{Recall: 0.95, QPS: 10, Label: "]]>\x07"}}}}, 1},
	}
	many := make([]PlotSeries, 40)
	for i := range many {
		many[i] = PlotSeries{Name: "s" + string(rune('A'+i)), Points: []PlotPoint{{Recall: 0.9, QPS: float64(i + 1)}}}
	}
	cases["many series"] = struct {
		series    []PlotSeries
		polylines int
	}{many, 40}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WritePlotSVG(&buf, "t & <t>", "x", "y", c.series); err != nil {
				t.Fatal(err)
			}
			counts := walkSVG(t, buf.Bytes())
			if counts["polyline"] != c.polylines {
				t.Errorf("%d polylines, want %d", counts["polyline"], c.polylines)
			}
			if bytes.Contains(buf.Bytes(), []byte("NaN")) || bytes.Contains(buf.Bytes(), []byte("Inf")) {
				t.Errorf("non-finite coordinate in output")
			}
		})
	}
}

func TestPlotRecallRange(t *testing.T) {
	for _, c := range []struct{ lo, start, step float64 }{
		{0, 0, 0.1},
		{0.05, 0, 0.1},
		{0.5, 0.5, 0.05},
		{0.93, 0.93, 0.01},
		{0.999, 0.99, 0.01},
		{1, 0.99, 0.01},
		{0.71, 0.7, 0.05},
	} {
		start, step := recallRange(c.lo)
		if math.Abs(start-c.start) > 1e-9 || step != c.step {
			t.Errorf("recallRange(%v) = %v, %v; want %v, %v", c.lo, start, step, c.start, c.step)
		}
		if start > c.lo+1e-9 || start < 0 || (1-start)/step > 10+1e-9 {
			t.Errorf("recallRange(%v) = %v, %v: bad axis", c.lo, start, step)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestPlotWriteError(t *testing.T) {
	err := WritePlotSVG(failWriter{}, "t", "x", "y", samplePlotSeries())
	if err == nil || !strings.HasPrefix(err.Error(), "bench: ") {
		t.Fatalf("error %v", err)
	}
}
