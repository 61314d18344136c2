package dash

import (
	"context"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
)

// Search spaces of the benchmark. The |K| = |D| = n sweeps use the first n
// entries of BenchKernels and BenchDilations; the reference case uses the
// 1-D search space of the reference's ECG/DeepSEA tasks, the case timed by
// ../shared/bench/torch_baseline.py (aggconv1d_fft_B32_C64_L1000_K5xD4 and
// aggconv1d_mixedresults_B32_C64_L1000_K5xD4).
var (
	BenchKernels       = []int{3, 5, 7, 9, 11, 13, 15}
	BenchDilations     = []int{1, 2, 3, 4, 5, 6, 7}
	ReferenceKernels   = []int{3, 7, 11, 15, 19}
	ReferenceDilations = []int{1, 3, 7, 15}
)

// Benchmark sweeps (BenchConfig.Sweeps and BenchResult.Case).
const (
	SweepKD1D      = "kd1d"      // |K| = |D| = 1..MaxKD, 1-D, length Length
	SweepKD2D      = "kd2d"      // |K| = |D| = 1..MaxKD, 2-D, Size2D × Size2D
	SweepLength    = "length"    // 1-D, |K| = |D| = LengthKD, each of Lengths
	SweepReference = "reference" // 1-D K = ReferenceKernels, D = ReferenceDilations
)

// BenchConfig configures Bench. Zero fields take the defaults shown.
type BenchConfig struct {
	Batch     int  // batch size (32)
	Channels  int  // input = output channels (64)
	Depthwise bool // depthwise convs instead of full ones (false)
	Length    int  // 1-D length of the |K| = |D| sweep and of the reference case (1000)
	Size2D    int  // 2-D side of the |K| = |D| sweep (32)
	MaxKD     int  // the |K| = |D| sweeps go from 1 to MaxKD (7, at most 7)
	// KD, when set, replaces 1..MaxKD by these values of |K| = |D|.
	KD []int
	// Lengths of the length sweep (32, 64, ..., 2048).
	Lengths []int
	// LengthKD is |K| = |D| of the length sweep (5).
	LengthKD int
	// Sweeps selects among SweepKD1D, SweepKD2D, SweepLength and
	// SweepReference (all, in that order, when empty).
	Sweeps []string
	// Strategies to time (MixedResults, MixedWeights, Fourier when empty).
	Strategies []Strategy
	// Reps timed steps per measurement after Warmup untimed ones (3 and 1);
	// the median is reported. A measurement whose warm-up step took more
	// than SlowStep (5 s) reports that step alone (Reps = 1).
	Reps, Warmup int
	SlowStep     time.Duration
	// MaxStepSeconds skips (with a note in the emitted result, never
	// silently) a measurement whose estimated step time exceeds it
	// (120 s); negative means never skip. Estimates come from a FLOP model
	// calibrated by the strategy's previous measurement in the sweep.
	MaxStepSeconds float64
	// MaxMemoryGiB skips measurements whose estimated working memory
	// exceeds it (16); negative means never skip.
	MaxMemoryGiB float64
	Seed         uint64
}

func (c *BenchConfig) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Batch, 32)
	def(&c.Channels, 64)
	def(&c.Length, 1000)
	def(&c.Size2D, 32)
	def(&c.MaxKD, 7)
	c.MaxKD = min(c.MaxKD, len(BenchKernels))
	def(&c.LengthKD, 5)
	c.LengthKD = min(c.LengthKD, len(BenchKernels))
	def(&c.Reps, 3)
	if c.Warmup < 0 {
		c.Warmup = 0
	} else if c.Warmup == 0 {
		c.Warmup = 1
	}
	if c.SlowStep <= 0 {
		c.SlowStep = 5 * time.Second
	}
	if len(c.Lengths) == 0 {
		c.Lengths = []int{32, 64, 128, 256, 512, 1024, 2048}
	}
	if len(c.Sweeps) == 0 {
		c.Sweeps = []string{SweepKD1D, SweepKD2D, SweepLength, SweepReference}
	}
	if len(c.Strategies) == 0 {
		c.Strategies = Strategies()
	}
	if c.MaxStepSeconds == 0 {
		c.MaxStepSeconds = 120
	}
	if c.MaxMemoryGiB == 0 {
		c.MaxMemoryGiB = 16
	}
}

// BenchResult is one measurement: the time of one search step (forward and
// backward of Σ y, gradients for the input, the kernels and α; Gumbel
// mixing) of one aggregated conv layer.
type BenchResult struct {
	Case      string   `json:"case"`
	Strategy  Strategy `json:"strategy"`
	Dims      int      `json:"dims"`
	K         int      `json:"k"` // |K|
	D         int      `json:"d"` // |D|
	Kernels   []int    `json:"kernels"`
	Dilations []int    `json:"dilations"`
	// Length is the input length (1-D) or side (2-D: Length × Length).
	Length    int     `json:"length"`
	Batch     int     `json:"batch"`
	Channels  int     `json:"channels"`
	Depthwise bool    `json:"depthwise"`
	MsPerStep float64 `json:"ms_per_step"` // median
	// MinMsPerStep is the fastest timed step (robust to a busy machine).
	MinMsPerStep float64 `json:"min_ms_per_step"`
	Reps         int     `json:"reps"`
	Device       string  `json:"device"`
	// Skipped measurements carry the reason in Note (MsPerStep is 0).
	Skipped bool   `json:"skipped,omitempty"`
	Note    string `json:"note,omitempty"`
}

// MarshalText writes the strategy's name (JSON uses it).
func (s Strategy) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a strategy name.
func (s *Strategy) UnmarshalText(b []byte) error {
	v, err := ParseStrategy(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

type benchCase struct {
	sweep        string
	dims         int
	length       int
	kernels, dil []int
}

func (c BenchConfig) cases() ([]benchCase, error) {
	var out []benchCase
	for _, s := range c.Sweeps {
		switch s {
		case SweepKD1D, SweepKD2D:
			dims, l := 1, c.Length
			if s == SweepKD2D {
				dims, l = 2, c.Size2D
			}
			kd := c.KD
			if len(kd) == 0 {
				for n := 1; n <= c.MaxKD; n++ {
					kd = append(kd, n)
				}
			}
			for _, n := range kd {
				if n < 1 || n > len(BenchKernels) {
					return nil, fmt.Errorf("dash bench: |K| = |D| = %d out of range 1..%d", n, len(BenchKernels))
				}
				out = append(out, benchCase{s, dims, l, BenchKernels[:n], BenchDilations[:n]})
			}
		case SweepLength:
			for _, l := range c.Lengths {
				out = append(out, benchCase{s, 1, l, BenchKernels[:c.LengthKD], BenchDilations[:c.LengthKD]})
			}
		case SweepReference:
			out = append(out, benchCase{s, 1, c.Length, ReferenceKernels, ReferenceDilations})
		default:
			return nil, fmt.Errorf("dash bench: unknown sweep %q (want %s, %s, %s or %s)", s, SweepKD1D, SweepKD2D, SweepLength, SweepReference)
		}
	}
	return out, nil
}

// benchCost is a rough model of one search step: floating-point operations
// and working memory in bytes.
func benchCost(s Strategy, c benchCase, cfg BenchConfig) (flops, bytes float64) {
	N, C := float64(cfg.Batch), float64(cfg.Channels)
	cin := C
	if cfg.Depthwise {
		cin = 1
	}
	P := math.Pow(float64(c.length), float64(c.dims))
	S := 0
	for _, k := range c.kernels {
		for _, d := range c.dil {
			S = max(S, d*(k-1)+1)
		}
	}
	S = min(S, 2*c.length-1) // AggConv crops taps that cannot touch the input
	act := N * C * P * 4     // one activation tensor
	switch s {
	case MixedResults:
		var taps float64
		for _, k := range c.kernels {
			taps += float64(len(c.dil)) * math.Pow(float64(k), float64(c.dims))
		}
		flops = 3 * 2 * N * C * cin * P * taps
		kmax := float64(c.kernels[len(c.kernels)-1])
		bytes = 3*float64(len(c.kernels)*len(c.dil))*act + 4*cin*math.Pow(kmax, float64(c.dims))*P*4
	case MixedWeights:
		taps := math.Pow(float64(S), float64(c.dims))
		flops = 3 * 2 * N * C * cin * P * taps
		bytes = 4*act + 2*cin*taps*P*4 // im2col per worker
	default:
		nsp, nf := 1.0, 1.0
		for i := 0; i < c.dims; i++ {
			m := float64(fftSize(c.length + S - 1))
			nsp *= m
			if i == c.dims-1 {
				nf *= math.Floor(m/2) + 1
			} else {
				nf *= m
			}
		}
		rows := C * cin
		fftRows := 3*N*C + 2*rows + N*C // x, dx; K, dK; y, g
		flops = fftRows*2.5*nsp*math.Log2(nsp) + 3*8*N*C*cin*nf
		bytes = (3*N*C*nf*2 + 2*rows*nf*2 + 2*N*C*nsp + rows*nsp) * 4
	}
	return flops, bytes
}

// Bench times one search step of an aggregated conv for every selected
// sweep point and strategy on backend be, calling emit with each result as
// soon as it is measured (skipped measurements are emitted too, with
// Skipped and a Note). It stops early with ctx's error when ctx is done.
func Bench(ctx context.Context, be tensor.Backend, cfg BenchConfig, emit func(BenchResult)) error {
	cfg.defaults()
	cases, err := cfg.cases()
	if err != nil {
		return err
	}
	// seconds per model FLOP, per strategy and sweep, from the last
	// measurement (nominal rates before the first one)
	nominal := map[Strategy]float64{MixedResults: 1 / 20e9, MixedWeights: 1 / 20e9, Fourier: 1 / 5e9}
	rate := map[string]float64{}
	for _, c := range cases {
		for _, s := range cfg.Strategies {
			if err := ctx.Err(); err != nil {
				return err
			}
			res := BenchResult{Case: c.sweep, Strategy: s, Dims: c.dims, K: len(c.kernels), D: len(c.dil),
				Kernels: slices.Clone(c.kernels), Dilations: slices.Clone(c.dil), Length: c.length,
				Batch: cfg.Batch, Channels: cfg.Channels, Depthwise: cfg.Depthwise, Device: be.Name()}
			flops, bytes := benchCost(s, c, cfg)
			key := c.sweep + "/" + s.String()
			r, ok := rate[key]
			if !ok {
				r = nominal[s]
			}
			est := flops * r
			switch {
			case cfg.MaxStepSeconds > 0 && est > cfg.MaxStepSeconds:
				res.Skipped = true
				res.Note = fmt.Sprintf("skipped: estimated %.3g s per step (%.2g FLOP model) exceeds the %g s limit", est, flops, cfg.MaxStepSeconds)
			case cfg.MaxMemoryGiB > 0 && bytes > cfg.MaxMemoryGiB*(1<<30):
				res.Skipped = true
				res.Note = fmt.Sprintf("skipped: estimated working memory %.1f GiB exceeds the %.0f GiB limit", bytes/(1<<30), cfg.MaxMemoryGiB)
			}
			if !res.Skipped {
				ms, minMs, reps, err := benchOne(ctx, be, cfg, c, s)
				if err != nil {
					return err
				}
				res.MsPerStep, res.MinMsPerStep, res.Reps = ms, minMs, reps
				rate[key] = ms / 1e3 / flops
			}
			emit(res)
		}
	}
	return nil
}

// benchOne times search steps of one configuration and returns the median
// and the minimum in milliseconds and the number of timed steps.
func benchOne(ctx context.Context, be tensor.Backend, cfg BenchConfig, c benchCase, s Strategy) (median, minimum float64, reps int, err error) {
	layer, err := NewAggConv(AggConvConfig{Name: "bench", Backend: be, Dims: c.dims, In: cfg.Channels, Out: cfg.Channels,
		Kernels: c.kernels, Dilations: c.dil, Depthwise: cfg.Depthwise, Strategy: s, Seed: cfg.Seed})
	if err != nil {
		return 0, 0, 0, err
	}
	defer func() {
		for _, p := range append(layer.Params(), layer.ArchParams()...) {
			p.ZeroGrad()
			p.Value.Release()
		}
	}()
	shape := []int{cfg.Batch, cfg.Channels, c.length}
	if c.dims == 2 {
		shape = append(shape, c.length)
	}
	xt := tensor.RandNormal(be, cfg.Seed+1, 0, 1, shape...)
	defer xt.Release()
	x := autograd.Leaf(xt, true)
	params := append(layer.Params(), layer.ArchParams()...)
	step := func() (time.Duration, error) {
		t0 := time.Now()
		y := layer.Forward(x)
		loss := autograd.Sum(y, false)
		autograd.Backward(loss)
		if err := be.Sync(); err != nil {
			return 0, err
		}
		d := time.Since(t0)
		autograd.Release(loss)
		x.ZeroGrad()
		for _, p := range params {
			p.ZeroGrad()
		}
		return d, nil
	}
	var first time.Duration
	for i := 0; i < cfg.Warmup; i++ {
		if err := ctx.Err(); err != nil {
			return 0, 0, 0, err
		}
		d, err := step()
		if err != nil {
			return 0, 0, 0, err
		}
		if i == 0 {
			first = d
		}
	}
	if cfg.Warmup > 0 && first > cfg.SlowStep {
		ms := float64(first) / 1e6
		return ms, ms, 1, nil
	}
	var ts []float64
	for range cfg.Reps {
		if err := ctx.Err(); err != nil {
			return 0, 0, 0, err
		}
		d, err := step()
		if err != nil {
			return 0, 0, 0, err
		}
		ts = append(ts, float64(d)/1e6)
	}
	sort.Float64s(ts)
	return ts[len(ts)/2], ts[0], len(ts), nil
}

// WriteBenchTable writes the results as an aligned text table, skipped
// measurements with their note, followed by the Fourier speed-up over mixed
// results per sweep point.
func WriteBenchTable(w io.Writer, results []BenchResult) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\tdims\t|K|\t|D|\t|K||D|\tlength\tbatch\tchannels\tstrategy\tms/step\tmin\t")
	for _, r := range results {
		ms := fmt.Sprintf("%.1f\t%.1f", r.MsPerStep, r.MinMsPerStep)
		if r.Skipped {
			ms = "skipped\t"
		}
		l := fmt.Sprint(r.Length)
		if r.Dims == 2 {
			l = fmt.Sprintf("%d×%d", r.Length, r.Length)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%d\t%d\t%s\t%s\t\n", r.Case, r.Dims, r.K, r.D, r.K*r.D, l, r.Batch, r.Channels, r.Strategy, ms)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var notes []string
	for _, r := range results {
		if r.Note != "" {
			notes = append(notes, fmt.Sprintf("  %s %dD |K|=%d |D|=%d length %d, %s: %s", r.Case, r.Dims, r.K, r.D, r.Length, r.Strategy, r.Note))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "notes:\n%s\n", strings.Join(notes, "\n"))
	}
	type key struct {
		c          string
		dims, k, l int
	}
	ms := map[key]map[Strategy]float64{}
	var order []key
	for _, r := range results {
		if r.Skipped {
			continue
		}
		kk := key{r.Case, r.Dims, r.K*1000 + r.D, r.Length}
		if ms[kk] == nil {
			ms[kk] = map[Strategy]float64{}
			order = append(order, kk)
		}
		ms[kk][r.Strategy] = r.MsPerStep
	}
	var sp []string
	for _, kk := range order {
		f, ok1 := ms[kk][Fourier]
		m, ok2 := ms[kk][MixedResults]
		if ok1 && ok2 && f > 0 {
			sp = append(sp, fmt.Sprintf("  %s %dD |K|=%d |D|=%d length %d: %.1f×", kk.c, kk.dims, kk.k/1000, kk.k%1000, kk.l, m/f))
		}
	}
	if len(sp) > 0 {
		fmt.Fprintf(w, "Fourier speed-up over mixed results:\n%s\n", strings.Join(sp, "\n"))
	}
	return nil
}

// WriteBenchPlot writes a PNG with two panels: ms per step against |K||D|
// (the |K| = |D| sweeps, 1-D and 2-D, log scale) and against the input
// length (the length sweep, log–log), one line per strategy. Skipped
// measurements are left out.
func WriteBenchPlot(path string, results []BenchResult) error {
	kd, err := newBenchPlot("search step vs |K||D|", "|K|·|D|", false)
	if err != nil {
		return err
	}
	ln, err := newBenchPlot("search step vs input length (1-D)", "length", true)
	if err != nil {
		return err
	}
	device := ""
	for _, r := range results {
		device = r.Device
	}
	if device != "" {
		kd.Title.Text += " — " + device
	}
	colors := map[Strategy]color.Color{
		MixedResults: color.RGBA{R: 200, G: 50, B: 40, A: 255},
		MixedWeights: color.RGBA{R: 230, G: 150, B: 20, A: 255},
		Fourier:      color.RGBA{R: 30, G: 90, B: 200, A: 255},
	}
	type series struct {
		p     *plot.Plot
		name  string
		s     Strategy
		dims  int
		pts   plotter.XYs
		order int
	}
	all := map[string]*series{}
	var names []string
	for _, r := range results {
		if r.Skipped || r.MsPerStep <= 0 {
			continue
		}
		var p *plot.Plot
		var x float64
		var name string
		switch r.Case {
		case SweepKD1D, SweepKD2D:
			p, x = kd, float64(r.K*r.D)
			name = fmt.Sprintf("%s %dD", r.Strategy, r.Dims)
		case SweepLength:
			p, x = ln, float64(r.Length)
			name = fmt.Sprintf("%s |K|=%d |D|=%d", r.Strategy, r.K, r.D)
		default:
			continue
		}
		id := r.Case + name
		if all[id] == nil {
			all[id] = &series{p: p, name: name, s: r.Strategy, dims: r.Dims}
			names = append(names, id)
		}
		all[id].pts = append(all[id].pts, plotter.XY{X: x, Y: r.MsPerStep})
	}
	for _, id := range names {
		s := all[id]
		sort.Slice(s.pts, func(i, j int) bool { return s.pts[i].X < s.pts[j].X })
		l, sc, err := plotter.NewLinePoints(s.pts)
		if err != nil {
			return err
		}
		c := colors[s.s]
		l.Color, sc.Color = c, c
		l.Width = vg.Points(1.5)
		if s.dims == 2 {
			l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			sc.Shape = draw.BoxGlyph{}
		}
		s.p.Add(l, sc)
		s.p.Legend.Add(s.name, l, sc)
	}
	for _, p := range []*plot.Plot{kd, ln} {
		has := false
		for _, s := range all {
			has = has || s.p == p
		}
		if !has { // log axes cannot span an empty range
			p.Title.Text += " (no data)"
			p.X.Scale, p.Y.Scale = plot.LinearScale{}, plot.LinearScale{}
			p.X.Tick.Marker, p.Y.Tick.Marker = plot.DefaultTicks{}, plot.DefaultTicks{}
		}
	}
	img := vgimg.New(vg.Points(1100), vg.Points(450))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(20), PadTop: vg.Points(5), PadBottom: vg.Points(5), PadLeft: vg.Points(5), PadRight: vg.Points(10)}
	canvases := plot.Align([][]*plot.Plot{{kd, ln}}, tiles, dc)
	kd.Draw(canvases[0][0])
	ln.Draw(canvases[0][1])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func newBenchPlot(title, xlabel string, logX bool) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = "ms per search step (log)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	return p, nil
}
