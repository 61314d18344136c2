package dash

import (
	"bytes"
	"fmt"
	"image/color"
	"os"
	"strings"

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

// WriteAlphaHeatmap draws softmax(α) per layer over the search epochs (one
// panel per layer; x: candidate (k, d), y: epoch) as a PNG.
func WriteAlphaHeatmap(path string, arch *Architecture) error {
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
		p.X.Label.Text = "candidate (k outer, d inner)"
		p.Y.Label.Text = "epoch"
		hm := plotter.NewHeatMap(alphaGrid{h}, moreland.SmoothBlueRed().Palette(64))
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
	return savePlots(path, plots, vg.Length(cols)*4*vg.Inch, vg.Length(rows)*3*vg.Inch)
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

// WriteCurves plots training loss and validation metric per epoch for the
// DASH network and the baseline.
func WriteCurves(path string, m *Metrics) error {
	if len(m.Curve) == 0 && len(m.BaselineCurve) == 0 {
		return fmt.Errorf("no training curves")
	}
	mk := func(title string, get func(EpochStat) float64) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "epoch"
		for i, c := range []struct {
			name string
			pts  []EpochStat
		}{{"DASH", m.Curve}, {"baseline", m.BaselineCurve}} {
			if len(c.pts) == 0 {
				continue
			}
			xy := make(plotter.XYs, len(c.pts))
			for j, s := range c.pts {
				xy[j].X, xy[j].Y = float64(s.Epoch), get(s)
			}
			l, err := plotter.NewLine(xy)
			if err != nil {
				return nil, err
			}
			l.Color = []color.Color{color.RGBA{R: 200, A: 255}, color.RGBA{B: 200, A: 255}}[i]
			p.Add(l)
			p.Legend.Add(c.name, l)
		}
		return p, nil
	}
	lp, err := mk("training loss", func(s EpochStat) float64 { return s.Loss })
	if err != nil {
		return err
	}
	vp, err := mk("validation "+m.Test.Metric, func(s EpochStat) float64 { return s.Val })
	if err != nil {
		return err
	}
	return savePlots(path, [][]*plot.Plot{{lp, vp}}, 10*vg.Inch, 4*vg.Inch)
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
	fmt.Fprintf(&b, "## Result (test split, lower is better)\n\n| network | test %s | best validation | train time |\n|---|---|---|---|\n", m.Test.Metric)
	fmt.Fprintf(&b, "| DASH (searched kernels) | %.4g | %.4g | %.0f s |\n", m.Test.Value, m.BestVal, m.RetrainSeconds)
	fmt.Fprintf(&b, "| baseline (default kernels) | %.4g | %.4g | %.0f s |\n\n", m.Baseline.Value, m.BaselineBestVal, m.BaselineSeconds)
	fmt.Fprintf(&b, "Stage times: search %.0f s, hyperparameters %.0f s, retraining %.0f s, baseline %.0f s.\n\n", m.SearchSeconds, m.HPOSeconds, m.RetrainSeconds, m.BaselineSeconds)
	fmt.Fprintf(&b, "## Searched architecture\n\n| layer | default (k, d) | searched (k, d) | max softmax(α) |\n|---|---|---|---|\n")
	for _, l := range arch.Layers {
		mx := float32(0)
		for _, a := range l.Alpha {
			mx = max(mx, a)
		}
		fmt.Fprintf(&b, "| %s | (%d, %d) | (%d, %d) | %.3f |\n", l.Name, l.Default[0], l.Default[1], l.Kernel, l.Dilation, mx)
	}
	fmt.Fprintf(&b, "\n## Hyperparameters\n\nChosen on the validation split: lr %g, dropout %g, weight decay %g, momentum %g.\n\n| lr | dropout | weight decay | momentum | validation |\n|---|---|---|---|---|\n", hp.LR, hp.Dropout, hp.WeightDecay, hp.Momentum)
	for _, t := range hp.Trials {
		fmt.Fprintf(&b, "| %g | %g | %g | %g | %.4g |\n", t.LR, t.Dropout, t.WeightDecay, t.Momentum, t.Val)
	}
	fmt.Fprintf(&b, "\nFiles: `architecture.json`, `hparams.json`, `metrics.json`, `weights.safetensors`, `alpha.png`, `curves.png`.\n")
	if err := WriteFileAtomic(path, []byte(b.String())); err != nil {
		return err
	}
	_ = os.ErrNotExist
	return nil
}
