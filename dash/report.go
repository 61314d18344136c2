package dash

import (
	"bytes"
	"fmt"
	"image/color"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/dash-go/dash/nn/metrics"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// alphaGrid is one layer's α history as a heat map: x = candidate, y = epoch.
type alphaGrid struct{ h [][]float32 }

func (g alphaGrid) Dims() (c, r int)   { return len(g.h[0]), len(g.h) }
func (g alphaGrid) Z(c, r int) float64 { return float64(g.h[r][c]) }
func (g alphaGrid) X(c int) float64    { return float64(c) }
func (g alphaGrid) Y(r int) float64    { return float64(r + 1) }

// layerGrid is the final softmax(α) of every layer: x = candidate, y =
// layer (the first layer on top).
type layerGrid struct{ a [][]float32 }

func (g layerGrid) Dims() (c, r int)   { return len(g.a[0]), len(g.a) }
func (g layerGrid) Z(c, r int) float64 { return float64(g.a[r][c]) }
func (g layerGrid) X(c int) float64    { return float64(c) }
func (g layerGrid) Y(r int) float64    { return float64(len(g.a) - 1 - r) }

// candidateTicks labels the candidate axis at each new kernel size.
func candidateTicks(cands [][2]int) plot.Ticker {
	return plot.TickerFunc(func(min, max float64) []plot.Tick {
		var t []plot.Tick
		for i, c := range cands {
			lab := ""
			if i == 0 || cands[i-1][0] != c[0] {
				lab = fmt.Sprintf("k%d", c[0])
			}
			t = append(t, plot.Tick{Value: float64(i), Label: lab})
		}
		return t
	})
}

// alphaRange is the colour scale shared by the α panels: 0 to the largest
// softmax(α) seen, at least 3× uniform so that a flat α looks flat.
func alphaRange(arch *Architecture) float64 {
	hi := 0.0
	n := 1
	for _, l := range arch.Layers {
		n = max(n, len(l.Alpha))
		for _, v := range l.Alpha {
			hi = max(hi, float64(v))
		}
	}
	for _, ep := range arch.History {
		for _, l := range ep {
			n = max(n, len(l))
			for _, v := range l {
				hi = max(hi, float64(v))
			}
		}
	}
	return max(hi, 3/float64(n))
}

// WriteAlphaHeatmap draws the final softmax(α) of every layer (rows) over
// the candidates (columns, k outer, d inner) on one colour scale from 0,
// with a colour bar giving the values; each row is labelled with its
// choice, max softmax(α) as a multiple of uniform and the normalised
// entropy. With more than one search epoch a second figure,
// alpha_history.png beside path, shows each layer's α over the epochs.
func WriteAlphaHeatmap(path string, arch *Architecture) error {
	if len(arch.Layers) == 0 || len(arch.Layers[0].Alpha) == 0 {
		return fmt.Errorf("no α to plot")
	}
	hi := alphaRange(arch)
	pal := moreland.ExtendedBlackBody().Palette(128)
	var rows [][]float32
	var labels []string
	for _, l := range arch.Layers {
		rows = append(rows, l.Alpha)
		c := Concentrate(l.Alpha)
		labels = append(labels, fmt.Sprintf("%s (%d,%d) max %.3f=%.1f×u H %.2f", l.Name, l.Kernel, l.Dilation, c.Max, c.OverUnif, c.NormEntropy))
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("softmax(α) after the search (uniform = %.4f)", 1/float64(len(rows[0])))
	p.X.Label.Text = "candidate (k outer, d inner)"
	hm := plotter.NewHeatMap(layerGrid{rows}, pal)
	hm.Min, hm.Max = 0, hi
	p.Add(hm)
	p.X.Tick.Marker = candidateTicks(arch.Layers[0].Candidates)
	nl := len(rows)
	p.Y.Tick.Marker = plot.TickerFunc(func(min, max float64) []plot.Tick {
		var t []plot.Tick
		for i, lab := range labels {
			t = append(t, plot.Tick{Value: float64(nl - 1 - i), Label: lab})
		}
		return t
	})
	cb, err := colorBar(hi)
	if err != nil {
		return err
	}
	if err := savePlotsWidths(path, []*plot.Plot{p, cb}, []float64{0.88, 0.12}, 12*vg.Inch, vg.Length(2+0.45*float64(nl))*vg.Inch); err != nil {
		return err
	}
	if len(arch.History) > 1 {
		return writeAlphaHistory(filepath.Join(filepath.Dir(path), "alpha_history.png"), arch, hi)
	}
	return nil
}

// colorBar is a vertical colour bar from 0 to hi with value ticks.
func colorBar(hi float64) (*plot.Plot, error) {
	cm := moreland.ExtendedBlackBody()
	cm.SetMin(0)
	cm.SetMax(hi)
	p := plot.New()
	p.Title.Text = "softmax(α)"
	p.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true})
	p.HideX()
	p.Y.Padding = 0
	return p, nil
}

// writeAlphaHistory draws each layer's softmax(α) over the search epochs.
func writeAlphaHistory(path string, arch *Architecture, hi float64) error {
	if len(arch.History) == 0 || len(arch.History[0]) == 0 {
		return fmt.Errorf("no α history to plot")
	}
	nl := len(arch.History[0])
	cols := 3
	rows := (nl + cols - 1) / cols
	plots := make([][]*plot.Plot, rows)
	for r := range plots {
		plots[r] = make([]*plot.Plot, cols)
	}
	pal := moreland.ExtendedBlackBody().Palette(128)
	for l := 0; l < nl; l++ {
		var h [][]float32
		for _, ep := range arch.History {
			h = append(h, ep[l])
		}
		p := plot.New()
		name := fmt.Sprintf("layer %d", l)
		if l < len(arch.Layers) {
			name = fmt.Sprintf("%s → k=%d d=%d", arch.Layers[l].Name, arch.Layers[l].Kernel, arch.Layers[l].Dilation)
		}
		p.Title.Text = name
		p.X.Label.Text = "candidate"
		p.Y.Label.Text = "epoch"
		hm := plotter.NewHeatMap(alphaGrid{h}, pal)
		hm.Min, hm.Max = 0, hi
		p.Add(hm)
		plots[l/cols][l%cols] = p
	}
	for r := range plots {
		for c := range plots[r] {
			if plots[r][c] == nil {
				plots[r][c] = plot.New()
				plots[r][c].HideAxes()
			}
		}
	}
	p := plots[rows-1][cols-1]
	if len(p.Title.Text) == 0 { // a free tile: put the colour bar there
		cb, err := colorBar(hi)
		if err != nil {
			return err
		}
		plots[rows-1][cols-1] = cb
	}
	return savePlots(path, plots, vg.Length(cols)*4*vg.Inch, vg.Length(rows)*3*vg.Inch)
}

// savePlotsWidths draws plots side by side with the given width shares.
func savePlotsWidths(path string, plots []*plot.Plot, shares []float64, w, h vg.Length) error {
	img := vgimg.New(w, h)
	dc := draw.New(img)
	x := dc.Min.X
	for i, p := range plots {
		cw := vg.Length(shares[i]) * (dc.Max.X - dc.Min.X)
		c := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{Min: vg.Point{X: x, Y: dc.Min.Y}, Max: vg.Point{X: x + cw, Y: dc.Max.Y}}}
		c = draw.Crop(c, vg.Millimeter*2, -vg.Millimeter*2, vg.Millimeter*2, -vg.Millimeter*2)
		p.Draw(c)
		x += cw
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return fmt.Errorf("render %s: %w", path, err)
	}
	return WriteFileAtomic(path, buf.Bytes())
}

func savePlots(path string, plots [][]*plot.Plot, w, h vg.Length) error {
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(plots), Cols: len(plots[0]), PadX: vg.Millimeter, PadY: vg.Millimeter,
		PadTop: vg.Millimeter, PadBottom: vg.Millimeter, PadLeft: vg.Millimeter, PadRight: vg.Millimeter}
	canvases := plot.Align(plots, tiles, dc)
	for r := range plots {
		for c := range plots[r] {
			plots[r][c].Draw(canvases[r][c])
		}
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return fmt.Errorf("render %s: %w", path, err)
	}
	return WriteFileAtomic(path, buf.Bytes())
}

// netColor is the plot colour of a network kind.
func netColor(kind string) color.Color {
	switch kind {
	case "searched":
		return color.RGBA{R: 200, A: 255}
	case "baseline":
		return color.RGBA{B: 200, A: 255}
	}
	return color.RGBA{R: 150, G: 150, B: 150, A: 255}
}

// curveSets lists the networks with training curves (older metrics.json
// files without Networks: DASH and the baseline).
func curveSets(m *Metrics) []NetworkResult {
	if len(m.Networks) > 0 {
		return m.Networks
	}
	return []NetworkResult{{Label: "dash", Kind: "searched", Curve: m.Curve}, {Label: "baseline", Kind: "baseline", Curve: m.BaselineCurve}}
}

// WriteCurves plots training loss and validation metric per epoch for
// every network of the run (searched red, baseline blue, random grey). The
// legend sits in its own strip below the panels so it never covers a line.
func WriteCurves(path string, m *Metrics) error {
	nets := curveSets(m)
	has := false
	for _, n := range nets {
		has = has || len(n.Curve) > 0
	}
	if !has {
		return fmt.Errorf("no training curves")
	}
	leg := plot.New()
	leg.HideAxes()
	leg.Legend.Top = true
	leg.Legend.Left = true
	mk := func(title string, get func(EpochStat) float64, withLegend bool) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "epoch"
		randomInLegend := false
		for _, n := range nets {
			if len(n.Curve) == 0 {
				continue
			}
			xy := make(plotter.XYs, len(n.Curve))
			for j, s := range n.Curve {
				xy[j].X, xy[j].Y = float64(s.Epoch), get(s)
			}
			l, pts, err := plotter.NewLinePoints(xy)
			if err != nil {
				return nil, err
			}
			l.Color, pts.Color = netColor(n.Kind), netColor(n.Kind)
			pts.Shape = draw.CircleGlyph{}
			pts.Radius = vg.Points(2)
			if n.Kind != "random" {
				l.Width = vg.Points(2)
			}
			p.Add(l, pts)
			if withLegend {
				switch {
				case n.Kind == "searched":
					leg.Legend.Add("DASH (searched)", l)
				case n.Kind == "baseline":
					leg.Legend.Add("baseline (default kernels)", l)
				case !randomInLegend:
					leg.Legend.Add("random architectures", l)
					randomInLegend = true
				}
			}
		}
		return p, nil
	}
	lp, err := mk("training loss", func(s EpochStat) float64 { return s.Loss }, true)
	if err != nil {
		return err
	}
	vp, err := mk("validation "+metricName(m), func(s EpochStat) float64 { return s.Val }, false)
	if err != nil {
		return err
	}
	return savePlotsWidths(path, []*plot.Plot{lp, vp, leg}, []float64{0.4, 0.4, 0.2}, 12*vg.Inch, 4*vg.Inch)
}

func metricName(m *Metrics) string {
	if m.Test.Metric != "" {
		return m.Test.Metric
	}
	for _, n := range m.Networks {
		if n.Test.Metric != "" {
			return n.Test.Metric
		}
	}
	return "score"
}

// better says which way a metric's values improve, for labels.
func better(metric string) string {
	if metrics.HigherIsBetter(metric) {
		return "higher is better"
	}
	return "lower is better"
}

// WriteControlsPlot draws every network's test metric: the baseline, the
// random architectures (with their median) and the searched network.
func WriteControlsPlot(path string, m *Metrics) error {
	if len(m.Networks) == 0 {
		return fmt.Errorf("no networks")
	}
	p := plot.New()
	c := m.Controls
	if c != nil {
		p.Title.Text = fmt.Sprintf("test %s: searched ranks %d of %d", c.Metric, c.Rank, c.Of)
	}
	p.Y.Label.Text = "test " + metricName(m) + " (" + better(metricName(m)) + ")"
	pos := map[string]float64{"baseline": 0, "random": 1, "searched": 2}
	var nr int
	for _, n := range m.Networks {
		x := pos[n.Kind]
		if n.Kind == "random" {
			nr++
			x += 0.3 * (float64(nr%7)/6 - 0.5)
		}
		sc, err := plotter.NewScatter(plotter.XYs{{X: x, Y: n.Test.Value}})
		if err != nil {
			return err
		}
		sc.GlyphStyle.Color = netColor(n.Kind)
		sc.GlyphStyle.Radius = vg.Points(4)
		sc.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(sc)
	}
	if c != nil && len(c.Random) > 0 {
		l, err := plotter.NewLine(plotter.XYs{{X: 0.6, Y: c.RandomMedian}, {X: 1.4, Y: c.RandomMedian}})
		if err != nil {
			return err
		}
		l.Color = color.Black
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		p.Add(l)
		p.X.Label.Text = "dashed line: median of the random architectures"
	}
	p.NominalX("baseline (tuned)", "random architectures", "DASH (searched)")
	p.X.Min, p.X.Max = -0.5, 2.5
	return savePlotsWidths(path, []*plot.Plot{p}, []float64{1}, 6*vg.Inch, 4.5*vg.Inch)
}

// WriteSeedsPlot draws, per seed, the searched network's, the baseline's
// and each random architecture's test metric.
func WriteSeedsPlot(path string, s *SeedSummary) error {
	if len(s.Seeds) == 0 {
		return fmt.Errorf("no seeds")
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: searched vs random vs baseline per seed", s.Task)
	p.X.Label.Text = "seed"
	p.Y.Label.Text = "test " + s.Metric + " (" + better(s.Metric) + ")"
	add := func(name, kind string, xy plotter.XYs, r float64) error {
		if len(xy) == 0 {
			return nil
		}
		sc, err := plotter.NewScatter(xy)
		if err != nil {
			return err
		}
		sc.GlyphStyle.Color = netColor(kind)
		sc.GlyphStyle.Radius = vg.Points(r)
		sc.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(sc)
		p.Legend.Add(name, sc)
		return nil
	}
	var sr, bs, rs plotter.XYs
	for _, r := range s.Seeds {
		if r.Controls == nil {
			continue
		}
		x := float64(r.Seed)
		sr = append(sr, plotter.XY{X: x + 0.15, Y: r.Controls.Searched})
		bs = append(bs, plotter.XY{X: x - 0.15, Y: r.Controls.Baseline})
		for _, v := range r.Controls.Random {
			rs = append(rs, plotter.XY{X: x, Y: v})
		}
	}
	if err := add("random", "random", rs, 3); err != nil {
		return err
	}
	if err := add("baseline (tuned)", "baseline", bs, 4); err != nil {
		return err
	}
	if err := add("DASH (searched)", "searched", sr, 4); err != nil {
		return err
	}
	p.Legend.Top = true
	p.X.Min, p.X.Max = float64(s.Seeds[0].Seed)-0.6, float64(s.Seeds[len(s.Seeds)-1].Seed)+1.2
	return savePlotsWidths(path, []*plot.Plot{p}, []float64{1}, 7*vg.Inch, 4.5*vg.Inch)
}

// WriteReport writes report.md summarising the run.
func WriteReport(path string, cfg *Config, arch *Architecture, hp *HParams, m *Metrics) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# DASH run: %s\n\n", m.Task)
	syn := ""
	if m.Synthetic {
		syn = " (generated data)"
	}
	fmt.Fprintf(&b, "Task `%s`%s, budget `%s`, device `%s`, seed %d.\n\n", m.Task, syn, m.Budget, m.Device, cfg.Seed)
	fmt.Fprintf(&b, "Search space: kernels %v × dilations %v.\n\n", arch.Kernels, arch.Dilations)
	if c := m.Controls; c != nil {
		fmt.Fprintf(&b, "## Did the search beat chance?\n\n**%s**\n\n", c.Verdict)
	}
	fmt.Fprintf(&b, "## Every network (test split, %s; best first)\n\n", better(metricName(m)))
	trialLR := "the retraining schedule compressed to the trial"
	if s, _ := cfg.Budget.lrSchedule("hpo", cfg.Budget.HPOEpochs); s == nil {
		trialLR = "a constant learning rate"
	}
	fmt.Fprintf(&b, "Each network had its own hyperparameter stage (the same grid, epochs and share of batches; trials with %s) and the same retraining budget, from the same initial-weight seed.\n\n", trialLR)
	fmt.Fprintf(&b, "| network | (k, d) per layer | lr | proxy validation (search width, short) | best validation | test %s | train time |\n|---|---|---|---|---|---|---|\n", metricName(m))
	nets := slices.Clone(m.Networks)
	sort.SliceStable(nets, func(i, j int) bool { return nets[i].Test.Score < nets[j].Test.Score })
	for _, n := range nets {
		name := n.Label
		switch n.Kind {
		case "searched":
			name = "**DASH (searched)**"
		case "baseline":
			name = "baseline (default kernels, tuned)"
		}
		var kd []string
		for _, l := range n.Layers {
			kd = append(kd, fmt.Sprintf("%d/%d", l[0], l[1]))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.4g | %.4g | %.0f s |\n", name, strings.Join(kd, " "), fmt32(n.HParams.LR), fmtCorr(float64(n.Proxy)), n.BestVal, n.Test.Value, n.Seconds)
	}
	if c := m.Controls; c != nil && c.TransferN >= 3 {
		fmt.Fprintf(&b, "\nTransfer check (does a short training at the search width rank networks as the retraining does?): Spearman %s, Kendall τ %s over %d networks (searched + random).\n",
			fmtCorr(float64(c.Spearman)), fmtCorr(float64(c.Kendall)), c.TransferN)
	}
	fmt.Fprintf(&b, "\nStage times: search %.0f s", m.SearchSeconds)
	for _, n := range m.Networks {
		fmt.Fprintf(&b, ", %s %.0f s + %.0f s", n.Label, n.HPOSeconds, n.Seconds)
	}
	fmt.Fprintf(&b, " (hyperparameters + retraining)")
	if m.NetworksAtOnce > 1 {
		fmt.Fprintf(&b, "; %d networks at a time, %.0f s wall for all of them", m.NetworksAtOnce, m.NetworksSeconds)
	}
	fmt.Fprintf(&b, ".\n\n")
	ao := arch.AlphaOpt
	fmt.Fprintf(&b, "## Searched architecture\n\n")
	if ao.TotalSteps > 0 {
		fmt.Fprintf(&b, "α optimisation: %d search steps, the first %d move the weights only; α lr %s (the reference's × %.3g, for %d α steps instead of about %d), gradient norm 1/%s, penalty %s·%s, weight decay %s, ×%g after %.0f%% of the α steps.\n\n",
			ao.TotalSteps, ao.WarmupSteps, fmt32(ao.LR), ao.Scale, ao.Steps, ReferenceAlphaSteps, fmt32(ao.GradScale), fmt32(ao.Penalty), ao.PenaltyOn, fmt32(ao.WeightDecay), ao.Gamma, 100*ao.DecayAt)
	}
	nc := 1
	if len(arch.Layers) > 0 {
		nc = len(arch.Layers[0].Alpha)
	}
	fmt.Fprintf(&b, "| layer | default (k, d) | searched (k, d) | max softmax(α) | × uniform (1/%d) | entropy / log %d |\n|---|---|---|---|---|---|\n", nc, nc)
	for _, l := range arch.Layers {
		c := Concentrate(l.Alpha)
		fmt.Fprintf(&b, "| %s | (%d, %d) | (%d, %d) | %.3f | %.2f | %.3f |\n", l.Name, l.Default[0], l.Default[1], l.Kernel, l.Dilation, c.Max, c.OverUnif, c.NormEntropy)
	}
	if a := m.Alpha; a != nil {
		fmt.Fprintf(&b, "\n%d of %d layers have max softmax(α) ≥ 3× uniform (median %.2f×).\n", a.Decided, len(a.Layers), a.MedianOverUnif)
	}
	fmt.Fprintf(&b, "\n## Hyperparameters of the searched network\n\nChosen on the validation split: lr %s, dropout %s, weight decay %s, momentum %s.\n\n| lr | dropout | weight decay | momentum | validation |\n|---|---|---|---|---|\n", fmt32(hp.LR), fmt32(hp.Dropout), fmt32(hp.WeightDecay), fmt32(hp.Momentum))
	for _, t := range hp.Trials {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.4g |\n", fmt32(t.LR), fmt32(t.Dropout), fmt32(t.WeightDecay), fmt32(t.Momentum), t.Val)
	}
	fmt.Fprintf(&b, "\nFiles: `architecture.json`, `hparams.json` (searched network; `hparams-<network>.json` for the others), `metrics.json`, `weights.safetensors` (searched network), `alpha.png`, `curves.png`, `controls.png`.\n")
	return WriteFileAtomic(path, []byte(b.String()))
}
