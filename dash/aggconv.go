package dash

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/internal/fft"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

// Strategy selects how AggConv computes the aggregated convolution. All
// strategies compute the same function (up to float rounding) from the same
// parameters, so a layer can switch strategy at any time.
type Strategy int

const (
	// Fourier sums the candidates in the kernel domain (size S per spatial
	// axis), takes ONE real FFT of the summed kernel, and applies it to the
	// zero-padded input's FFT with a channel-contracting complex multiply
	// (an elementwise complex multiply when depthwise). This is DASH.
	Fourier Strategy = iota
	// MixedWeights sums the dilated, centred candidates into one S-wide
	// kernel and runs one direct convolution with it.
	MixedWeights
	// MixedResults runs |K|·|D| direct convolutions, each 'same' with its
	// own dilation, and sums their outputs with the mixing coefficients
	// (DARTS-style, the baseline DASH improves on).
	MixedResults
)

var strategyNames = [...]string{Fourier: "fourier", MixedWeights: "mixed-weights", MixedResults: "mixed-results"}

// String returns "fourier", "mixed-weights" or "mixed-results".
func (s Strategy) String() string {
	if s >= 0 && int(s) < len(strategyNames) {
		return strategyNames[s]
	}
	return fmt.Sprintf("Strategy(%d)", int(s))
}

// Strategies returns the three strategies, naive first.
func Strategies() []Strategy { return []Strategy{MixedResults, MixedWeights, Fourier} }

// ParseStrategy accepts a Strategy's String form; "fft", "dash", "mw", "mr",
// underscores and missing dashes are tolerated.
func ParseStrategy(name string) (Strategy, error) {
	n := strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.ToLower(name))
	switch n {
	case "fourier", "fft", "dash":
		return Fourier, nil
	case "mixedweights", "mw":
		return MixedWeights, nil
	case "mixedresults", "mr", "darts":
		return MixedResults, nil
	}
	return 0, fmt.Errorf("dash: unknown strategy %q (want fourier, mixed-weights or mixed-results)", name)
}

// Mixing selects how the architecture parameters α become mixing
// coefficients.
type Mixing int

const (
	// GumbelSoftmax mixes with softmax((log_softmax(α) + g)/τ), g Gumbel
	// noise drawn afresh at every training forward pass (as the reference
	// does). The noise is counter-based: it depends only on the layer's Seed
	// and its step counter, so runs are reproducible. Outside training the
	// plain softmax(α) is used.
	GumbelSoftmax Mixing = iota
	// Softmax mixes with softmax(α), deterministic.
	Softmax
)

// WeightInit selects the initial law of the candidate kernels.
type WeightInit int

const (
	// InitKaimingUniform draws each candidate kernel from U(−b, b) with
	// b = 1/√fan_in, fan_in = (In/groups)·k^Dims: PyTorch's default for
	// convolutions (kaiming_uniform with a = √5), per candidate.
	InitKaimingUniform WeightInit = iota
	// InitNormal draws from N(0, 0.01²) (standard deviation 0.01), the
	// reference implementation's choice.
	InitNormal
)

// AggConvConfig configures NewAggConv.
type AggConvConfig struct {
	// Name prefixes the parameter names ("aggconv" when empty).
	Name string
	// Backend holds the parameters (the shared CPU backend when nil).
	Backend tensor.Backend
	// Dims is 1 (inputs [N, C, L]) or 2 (inputs [N, C, H, W]).
	Dims int
	// In and Out are the input and output channel counts.
	In, Out int
	// Kernels (K) and Dilations (D) span the candidates: every (k, d) with
	// k in K (outer) and d in D (inner), |K|·|D| of them. Sizes and
	// dilations must be positive and distinct; even sizes are allowed.
	Kernels, Dilations []int
	// Stride subsamples the 'same' output (0 means 1): the output length
	// is ⌈L/Stride⌉ per spatial axis.
	Stride int
	// Depthwise makes the convolution depthwise (groups = In), as the
	// reference searches convs with In == Out; it requires In == Out.
	Depthwise bool
	// Strategy is the computation (Fourier by default).
	Strategy Strategy
	// Mixing is GumbelSoftmax (default, as the reference) or Softmax.
	Mixing Mixing
	// Temperature of the Gumbel-softmax (0 means 1, the reference's value).
	Temperature float32
	// Init is the candidate kernels' initial law.
	Init WeightInit
	// Seed makes the initialisation (α ~ 1e-3·N(0,1), kernels) and the
	// Gumbel noise reproducible.
	Seed uint64
}

// Candidate is one (kernel size, dilation) pair of an aggregated conv.
type Candidate struct {
	K, D int
}

// ReceptiveField is d(k−1)+1, the span of the dilated kernel.
func (c Candidate) ReceptiveField() int { return c.D*(c.K-1) + 1 }

// cand is a candidate with its place in the parameters and in the summed
// kernel.
type cand struct {
	ki, di int // index into Kernels, Dilations
	k, d   int
	// off is the position of the first tap inside the S-wide summed
	// kernel: (S−1)/2 − (s−1)/2 with s = d(k−1)+1, so that every candidate
	// keeps its own 'same' alignment (left padding (s−1)/2) in the sum.
	off int
}

// AggConv is the aggregated convolution of DASH over kernel sizes K and
// dilations D, an nn-style layer:
//
//	y = Σ_{k∈K, d∈D} a_kd · conv_same(x, w_kd, dilation d), then stride
//
// with a = softmax(α) or Gumbel-softmax(log_softmax(α)). The output keeps
// the spatial size ('same', exact linear convolution: no wrap-around) and is
// subsampled by Stride. Parameters: α (ArchParams, length |K|·|D|) and one
// undilated kernel per candidate (Params); candidates of the same size k
// share one tensor [|D|, Out, In/groups, k(, k)] (one slice per dilation).
//
// The Fourier strategy never materialises per-candidate padded kernels: the
// candidates are scattered (Kronecker dilation) and summed in the kernel
// domain, S = max d(k−1)+1 taps per axis, and only the summed kernel is
// transformed, on a grid of n + s − 1 (rounded up to an even 7-smooth
// length) per axis. Taps of the summed kernel farther than n−1 from its
// centre can only meet padding and are not built (s = min(S, 2n−1)), which
// keeps the grid small on small inputs; Mixed weights uses the same
// cropped kernel. For 1-D summed kernels of at most 128 taps the kernel's
// spectrum and its gradient are dense DFT products (one GEMM each, rows×S×m)
// instead of FFTs of mostly-zero padded rows. The memory held for the
// backward pass is the input's spectrum and the one kernel spectrum.
//
// Candidate (k, d) keeps its own 'same' alignment inside the sum: its
// left padding is d(k−1)/2 (floor), as PyTorch's padding="same" gives a
// lone conv, so even kernel sizes work too.
type AggConv struct {
	cfg      AggConvConfig
	be       tensor.Backend
	alpha    *autograd.Var
	weights  []*autograd.Var
	cands    []cand
	span     int
	kmax     int
	training bool
	step     uint64
	dft      dftMats
}

// NewAggConv validates cfg and initialises the parameters (seeded).
func NewAggConv(cfg AggConvConfig) (*AggConv, error) {
	if cfg.Name == "" {
		cfg.Name = "aggconv"
	}
	if cfg.Backend == nil {
		cfg.Backend = cpu.Default()
	}
	if cfg.Dims != 1 && cfg.Dims != 2 {
		return nil, fmt.Errorf("dash: %s: Dims = %d; want 1 (inputs [N,C,L]) or 2 (inputs [N,C,H,W])", cfg.Name, cfg.Dims)
	}
	if cfg.In <= 0 || cfg.Out <= 0 {
		return nil, fmt.Errorf("dash: %s: channels In = %d, Out = %d; both must be positive", cfg.Name, cfg.In, cfg.Out)
	}
	if err := checkSet("kernel size", cfg.Kernels); err != nil {
		return nil, fmt.Errorf("dash: %s: %w", cfg.Name, err)
	}
	if err := checkSet("dilation", cfg.Dilations); err != nil {
		return nil, fmt.Errorf("dash: %s: %w", cfg.Name, err)
	}
	if cfg.Stride < 0 {
		return nil, fmt.Errorf("dash: %s: Stride = %d; want ≥ 1 (or 0 for 1)", cfg.Name, cfg.Stride)
	}
	if cfg.Stride == 0 {
		cfg.Stride = 1
	}
	if cfg.Depthwise && cfg.In != cfg.Out {
		return nil, fmt.Errorf("dash: %s: Depthwise needs In == Out, got In = %d, Out = %d", cfg.Name, cfg.In, cfg.Out)
	}
	if cfg.Strategy < Fourier || cfg.Strategy > MixedResults {
		return nil, fmt.Errorf("dash: %s: unknown strategy %v", cfg.Name, cfg.Strategy)
	}
	if cfg.Mixing != GumbelSoftmax && cfg.Mixing != Softmax {
		return nil, fmt.Errorf("dash: %s: unknown Mixing %d", cfg.Name, cfg.Mixing)
	}
	if cfg.Init != InitKaimingUniform && cfg.Init != InitNormal {
		return nil, fmt.Errorf("dash: %s: unknown WeightInit %d", cfg.Name, cfg.Init)
	}
	if cfg.Temperature < 0 || math.IsNaN(float64(cfg.Temperature)) {
		return nil, fmt.Errorf("dash: %s: Temperature = %v; want > 0 (or 0 for 1)", cfg.Name, cfg.Temperature)
	}
	if cfg.Temperature == 0 {
		cfg.Temperature = 1
	}
	cfg.Kernels = slices.Clone(cfg.Kernels)
	cfg.Dilations = slices.Clone(cfg.Dilations)

	a := &AggConv{cfg: cfg, be: cfg.Backend, training: true}
	for _, k := range cfg.Kernels {
		for _, d := range cfg.Dilations {
			a.span = max(a.span, d*(k-1)+1)
		}
		a.kmax = max(a.kmax, k)
	}
	for ki, k := range cfg.Kernels {
		for di, d := range cfg.Dilations {
			s := d*(k-1) + 1
			a.cands = append(a.cands, cand{ki: ki, di: di, k: k, d: d, off: (a.span-1)/2 - (s-1)/2})
		}
	}
	n := len(a.cands)
	a.alpha = autograd.Param(cfg.Name+".alpha", tensor.RandNormal(a.be, mixSeed(cfg.Seed, 0xa1, 0), 0, 1e-3, n))
	cin := cfg.In / a.groups()
	for ki, k := range cfg.Kernels {
		shape := append([]int{len(cfg.Dilations), cfg.Out, cin}, a.spatial(k)...)
		seed := mixSeed(cfg.Seed, 0x3e, uint64(ki))
		var w *tensor.Tensor
		switch cfg.Init {
		case InitNormal:
			w = tensor.RandNormal(a.be, seed, 0, 0.01, shape...)
		default:
			fanIn := cin * ipow(k, cfg.Dims)
			b := float32(1 / math.Sqrt(float64(fanIn)))
			w = tensor.RandUniform(a.be, seed, -b, b, shape...)
		}
		a.weights = append(a.weights, autograd.Param(fmt.Sprintf("%s.weight_k%d", cfg.Name, k), w))
	}
	return a, nil
}

func checkSet(what string, v []int) error {
	if len(v) == 0 {
		return fmt.Errorf("no %ss given", what)
	}
	seen := map[int]bool{}
	for _, x := range v {
		if x <= 0 {
			return fmt.Errorf("%s %d in %v is not positive", what, x, v)
		}
		if seen[x] {
			return fmt.Errorf("%s %d repeated in %v", what, x, v)
		}
		seen[x] = true
	}
	return nil
}

// mixSeed derives independent seeds (splitmix64 finaliser).
func mixSeed(seed, tag, i uint64) uint64 {
	z := seed ^ (tag * 0x9e3779b97f4a7c15) ^ (i+1)*0xbf58476d1ce4e5b9
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func ipow(b, e int) int {
	r := 1
	for range e {
		r *= b
	}
	return r
}

func (a *AggConv) groups() int {
	if a.cfg.Depthwise {
		return a.cfg.In
	}
	return 1
}

func (a *AggConv) spatial(k int) []int {
	if a.cfg.Dims == 1 {
		return []int{k}
	}
	return []int{k, k}
}

// Config returns the layer's configuration (defaults filled in).
func (a *AggConv) Config() AggConvConfig {
	c := a.cfg
	c.Kernels = slices.Clone(c.Kernels)
	c.Dilations = slices.Clone(c.Dilations)
	return c
}

// Candidates returns the (k, d) pairs in α's order (k outer, d inner).
func (a *AggConv) Candidates() []Candidate {
	out := make([]Candidate, len(a.cands))
	for i, c := range a.cands {
		out[i] = Candidate{K: c.k, D: c.d}
	}
	return out
}

// Span is S = max d(k−1)+1, the size per spatial axis of the summed kernel
// (before it is cropped to the taps that can touch a given input).
func (a *AggConv) Span() int { return a.span }

// Strategy returns the current strategy.
func (a *AggConv) Strategy() Strategy { return a.cfg.Strategy }

// SetStrategy switches the computation; parameters are unchanged.
func (a *AggConv) SetStrategy(s Strategy) { a.cfg.Strategy = s }

// Params returns the candidate kernels, one Var per kernel size k, of shape
// [|D|, Out, In/groups, k] (1-D) or [|D|, Out, In/groups, k, k] (2-D),
// named "<name>.weight_k<k>".
func (a *AggConv) Params() []*autograd.Var { return slices.Clone(a.weights) }

// ArchParams returns α ("<name>.alpha", length |K|·|D|), to be trained with
// its own optimizer.
func (a *AggConv) ArchParams() []*autograd.Var { return []*autograd.Var{a.alpha} }

// SetTraining switches Gumbel noise on (training) or off (evaluation).
func (a *AggConv) SetTraining(b bool) { a.training = b }

// Training reports the mode set by SetTraining (true initially).
func (a *AggConv) Training() bool { return a.training }

// Step is the Gumbel noise counter: it advances at every training forward
// pass under GumbelSoftmax mixing. SetStep restores it (e.g. on resume).
func (a *AggConv) Step() uint64 { return a.step }

// SetStep sets the Gumbel noise counter.
func (a *AggConv) SetStep(s uint64) { a.step = s }

// Alpha returns softmax(α), the mixing distribution without noise, in
// Candidates order.
func (a *AggConv) Alpha() []float32 {
	v := a.alpha.Value.Float32s()
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, float64(x))
	}
	out := make([]float32, len(v))
	var s float64
	for _, x := range v {
		s += math.Exp(float64(x) - m)
	}
	for i, x := range v {
		out[i] = float32(math.Exp(float64(x)-m) / s)
	}
	return out
}

// Best returns the candidate with the largest α (the first on ties).
func (a *AggConv) Best() (k, d int) {
	v := a.alpha.Value.Float32s()
	b := 0
	for i, x := range v {
		if x > v[b] {
			b = i
		}
	}
	return a.cands[b].k, a.cands[b].d
}

// CandidateWeight returns a copy (owned by the caller) of the undilated
// kernel of candidate (k, d), shape [Out, In/groups, k(, k)], e.g. to start
// the discrete network from the searched weights.
func (a *AggConv) CandidateWeight(k, d int) (*tensor.Tensor, error) {
	for _, c := range a.cands {
		if c.k == k && c.d == d {
			return a.weights[c.ki].Value.Index(0, c.di).Clone(), nil
		}
	}
	return nil, fmt.Errorf("dash: %s: (k=%d, d=%d) is not a candidate of K=%v, D=%v", a.cfg.Name, k, d, a.cfg.Kernels, a.cfg.Dilations)
}

// OutputShape returns the output shape for an input shape.
func (a *AggConv) OutputShape(in []int) []int {
	out := slices.Clone(in)
	out[1] = a.cfg.Out
	for i := 2; i < len(out); i++ {
		out[i] = (in[i]-1)/a.cfg.Stride + 1
	}
	return out
}

// Forward applies the layer to x ([N, In, L] or [N, In, H, W]) with the
// configured strategy. Shape errors panic (programmer errors, as in the
// engine). In training with GumbelSoftmax mixing every call draws fresh
// noise.
func (a *AggConv) Forward(x *autograd.Var) *autograd.Var {
	step := a.step
	if a.training && a.cfg.Mixing == GumbelSoftmax {
		a.step++
	}
	return a.apply(x, a.alpha, a.weights, step, a.cfg.Strategy)
}

func (a *AggConv) checkInput(x *autograd.Var) {
	s := x.Value.Shape()
	if len(s) != a.cfg.Dims+2 || s[1] != a.cfg.In {
		want := "[N, %d, L]"
		if a.cfg.Dims == 2 {
			want = "[N, %d, H, W]"
		}
		panic(fmt.Sprintf("dash.AggConv %s: input of shape %v, want "+want, a.cfg.Name, s, a.cfg.In))
	}
	for _, v := range s[2:] {
		if v == 0 {
			panic(fmt.Sprintf("dash.AggConv %s: empty spatial axis in input %v", a.cfg.Name, s))
		}
	}
}

// apply is Forward with explicit parameters, noise step and strategy (the
// tests differentiate through it).
func (a *AggConv) apply(x, alpha *autograd.Var, ws []*autograd.Var, step uint64, s Strategy) *autograd.Var {
	a.checkInput(x)
	coef := a.mix(alpha, step)
	g := a.groups()
	switch s {
	case MixedResults:
		var y *autograd.Var
		for ci, c := range a.cands {
			shape := append([]int{a.cfg.Out, a.cfg.In / g}, a.spatial(c.k)...)
			w := autograd.Reshape(autograd.Slice(ws[c.ki], 0, c.di, c.di+1), shape...)
			pads := slices.Repeat([]int{c.d * (c.k - 1) / 2}, a.cfg.Dims)
			yc := directConv(x, w, c.d, pads, a.cfg.Stride, g)
			t := autograd.Mul(yc, autograd.Slice(coef, 0, ci, ci+1))
			if y == nil {
				y = t
			} else {
				y = autograd.Add(y, t)
			}
		}
		return y
	case MixedWeights:
		win := a.windows(x.Value.Shape()[2:])
		k := a.sumKernel(coef, ws, win)
		pads := make([]int, len(win))
		for i, w := range win {
			pads[i] = w.c
		}
		return directConv(x, k, 1, pads, a.cfg.Stride, g)
	default:
		win := a.windows(x.Value.Shape()[2:])
		k := a.sumKernel(coef, ws, win)
		if a.dft == nil {
			a.dft = dftMats{}
		}
		return fourierConv(x, k, win, a.cfg.Stride, a.cfg.Depthwise, a.dft)
	}
}

// mix returns the mixing coefficients [|K||D|].
func (a *AggConv) mix(alpha *autograd.Var, step uint64) *autograd.Var {
	if a.cfg.Mixing != GumbelSoftmax || !a.training {
		return autograd.Softmax(alpha, 0)
	}
	n := alpha.Value.Numel()
	// g = −log(−log u), u ∈ (0, 1): a lower bound keeps log finite.
	u := tensor.RandUniform(a.be, mixSeed(a.cfg.Seed, 0x6b, step), 1e-20, 1, n)
	l := tensor.Log(u)
	u.Release()
	nl := tensor.Neg(l)
	l.Release()
	l2 := tensor.Log(nl)
	nl.Release()
	g := tensor.Neg(l2)
	l2.Release()
	z := autograd.Add(autograd.LogSoftmax(alpha, 0), autograd.Temp(g))
	if a.cfg.Temperature != 1 {
		z = autograd.Scale(z, 1/a.cfg.Temperature)
	}
	return autograd.Softmax(z, 0)
}

// contiguousStrides is tensor.ContiguousStrides without the import noise.
func cstr(shape ...int) []int { return tensor.ContiguousStrides(shape) }

// contig returns t if it is contiguous (any offset), else a contiguous copy
// and a Temp Var that frees it with the graph.
func contig(t *tensor.Tensor, temps *[]*autograd.Var) *tensor.Tensor {
	if t.IsContiguous() {
		return t
	}
	c := t.Clone()
	*temps = append(*temps, autograd.Temp(c))
	return c
}

// directConv is the 'same' cross-correlation through the engine's direct
// convolution (autograd.Conv1d/Conv2d): pads[i] zeros before spatial axis i
// and enough after for an output of ⌈n/stride⌉; the strided convolution
// equals subsampling the stride-1 output.
func directConv(x, w *autograd.Var, dil int, pads []int, stride, groups int) *autograd.Var {
	xs, ws := x.Value.Shape(), w.Value.Shape()
	dims := len(xs) - 2
	after := make([]int, dims)
	for i := range dims {
		n, span := xs[2+i], dil*(ws[2+i]-1)+1
		after[i] = max(0, ((n-1)/stride)*stride+span-n-pads[i])
	}
	o := tensor.ConvOptions{Stride: []int{stride}, Dilation: []int{dil}, Groups: groups,
		Padding: tensor.Padding{Before: slices.Clone(pads), After: after}}
	if dims == 1 {
		return autograd.Conv1d(x, w, o)
	}
	return autograd.Conv2d(x, w, o)
}

// window is the part of the summed kernel, along one spatial axis, that
// can touch an input of size n: taps farther than n−1 from the centre only
// ever meet padding, so they are cropped (exactly: their contribution and
// their gradients are zero). This keeps the FFT grid at n + min(S, 2n−1) − 1
// instead of n + S − 1 on small inputs (e.g. the 8×8 stage of a WRN with
// S = 121 uses a 15-tap kernel).
type window struct {
	lo int // first kept tap, in the S-wide kernel's coordinates
	n  int // kept taps
	c  int // the centre tap (S−1)/2, in the kept kernel's coordinates
}

func (a *AggConv) windows(sp []int) []window {
	c0 := (a.span - 1) / 2
	out := make([]window, len(sp))
	for i, n := range sp {
		lo := max(0, c0-(n-1))
		hi := min(a.span, c0+n)
		out[i] = window{lo: lo, n: hi - lo, c: c0 - lo}
	}
	return out
}

// placement says where candidate c's taps go in the cropped summed kernel,
// both held tap-major (rows innermost, so every access below is contiguous
// along the R = Out·In/groups rows): the block shape [k'(, k'), R], the
// block's offset and strides in the candidate's transposed weights
// [|D|][k(, k)][R] and in the transposed summed kernel [win...][R].
type placement struct {
	shape, cs []int // block shape and its contiguous strides
	wOff      int
	wStr      []int
	kOff      int
	kStr      []int
	n         int
	nonEmpty  bool
}

func (a *AggConv) place(c cand, rows int, win []window) placement {
	dims := len(win)
	p := placement{nonEmpty: true}
	p.wOff = c.di * ipow(c.k, dims) * rows
	kst := rows
	kStr := make([]int, dims)
	for i := dims - 1; i >= 0; i-- {
		kStr[i] = kst
		kst *= win[i].n
	}
	for i, w := range win {
		// taps j with lo ≤ off + j·d < lo + n
		jlo := 0
		if w.lo > c.off {
			jlo = (w.lo - c.off + c.d - 1) / c.d
		}
		jhi := min(c.k, (w.lo+w.n-1-c.off)/c.d+1)
		if w.lo+w.n-1 < c.off || jhi <= jlo {
			p.nonEmpty = false
			return p
		}
		wst := ipow(c.k, dims-1-i) * rows
		p.shape = append(p.shape, jhi-jlo)
		p.wOff += jlo * wst
		p.wStr = append(p.wStr, wst)
		p.kOff += (c.off + jlo*c.d - w.lo) * kStr[i]
		p.kStr = append(p.kStr, c.d*kStr[i])
	}
	p.shape = append(p.shape, rows)
	p.wStr = append(p.wStr, 1)
	p.kStr = append(p.kStr, 1)
	p.cs = cstr(p.shape...)
	p.n = tensor.Numel(p.shape)
	return p
}

// transpose copies src viewed as [outer][a][b] (contiguous) into dst as
// [outer][b][a].
func transpose(be tensor.Backend, dst, src *tensor.Tensor, outer, a, b int) {
	be.Copy(dst.Buffer(), dst.Offset(), []int{a * b, 1, a}, src.Buffer(), src.Offset(), []int{a * b, b, 1}, []int{outer, a, b})
}

// sumKernel is the op K = Σ_c coef[c] · place_c(w_c): every candidate is
// Kronecker-dilated and centred inside the S-wide kernel (a strided
// scatter) and the results are summed, all in the kernel domain; only the
// window of taps that can touch the input is built. The sum runs in a
// tap-major workspace (weights and kernel transposed so that rows are
// innermost); the output is [Out, In/groups, win...].
func (a *AggConv) sumKernel(coef *autograd.Var, ws []*autograd.Var, win []window) *autograd.Var {
	be := a.be
	cin := a.cfg.In / a.groups()
	rows := a.cfg.Out * cin
	kshape := []int{a.cfg.Out, cin}
	taps := 1
	for _, w := range win {
		kshape = append(kshape, w.n)
		taps *= w.n
	}
	nmax := rows * ipow(a.kmax, a.cfg.Dims)
	var temps []*autograd.Var
	cv := contig(coef.Value, &temps)
	nd := len(a.cfg.Dilations)
	// transposed weights [|D|][k^dims][rows], kept for the backward pass
	wt := make([]*tensor.Tensor, len(ws))
	for i, w := range ws {
		kk := ipow(a.cfg.Kernels[i], a.cfg.Dims)
		wv := contig(w.Value, &temps)
		wt[i] = tensor.Empty(be, tensor.Float32, nd*kk*rows)
		transpose(be, wt[i], wv, nd, rows, kk)
		temps = append(temps, autograd.Temp(wt[i]))
	}
	zero := make([]int, a.cfg.Dims+1)
	pl := make([]placement, len(a.cands))
	for ci, c := range a.cands {
		pl[ci] = a.place(c, rows, win)
	}
	kt := tensor.Zeros(be, taps*rows)
	ta := tensor.Empty(be, tensor.Float32, nmax)
	tb := tensor.Empty(be, tensor.Float32, nmax)
	for ci, c := range a.cands {
		p := pl[ci]
		if !p.nonEmpty {
			continue
		}
		// ta = coef[c]·w_c; tb = K[region] + ta; K[region] = tb
		be.Binary(tensor.OpMul, ta.Buffer(), p.shape, wt[c.ki].Buffer(), p.wOff, p.wStr, cv.Buffer(), cv.Offset()+ci, zero)
		be.Binary(tensor.OpAdd, tb.Buffer(), p.shape, kt.Buffer(), p.kOff, p.kStr, ta.Buffer(), 0, p.cs)
		be.Copy(kt.Buffer(), p.kOff, p.kStr, tb.Buffer(), 0, p.cs, p.shape)
	}
	ta.Release()
	tb.Release()
	K := tensor.Empty(be, tensor.Float32, kshape...)
	transpose(be, K, kt, 1, taps, rows)
	kt.Release()
	inputs := append(append([]*autograd.Var{coef}, ws...), temps...)
	return autograd.NewOp(K, inputs, func(g *tensor.Tensor) []*tensor.Tensor {
		out := make([]*tensor.Tensor, len(inputs))
		var gt []*autograd.Var
		gd := contig(g, &gt)
		gkt := tensor.Empty(be, tensor.Float32, taps*rows)
		transpose(be, gkt, gd, 1, rows, taps)
		var dcoef *tensor.Tensor
		if coef.RequiresGrad() {
			dcoef = tensor.Zeros(be, len(a.cands))
			out[0] = dcoef
		}
		dwt := make([]*tensor.Tensor, len(ws))
		for i, w := range ws {
			if w.RequiresGrad() {
				dwt[i] = tensor.Zeros(be, w.Value.Numel())
			}
		}
		ta := tensor.Empty(be, tensor.Float32, nmax)
		sc := tensor.Empty(be, tensor.Float32, 1)
		for ci, c := range a.cands {
			p := pl[ci]
			if !p.nonEmpty {
				continue
			}
			if dw := dwt[c.ki]; dw != nil {
				// dw_c = coef[c] · g[region]
				be.Binary(tensor.OpMul, ta.Buffer(), p.shape, gkt.Buffer(), p.kOff, p.kStr, cv.Buffer(), cv.Offset()+ci, zero)
				be.Copy(dw.Buffer(), p.wOff, p.wStr, ta.Buffer(), 0, p.cs, p.shape)
			}
			if dcoef != nil {
				// dcoef[c] = Σ g[region] · w_c
				be.Binary(tensor.OpMul, ta.Buffer(), p.shape, gkt.Buffer(), p.kOff, p.kStr, wt[c.ki].Buffer(), p.wOff, p.wStr)
				be.Reduce(tensor.ReduceSum, sc.Buffer(), ta.Buffer(), 1, p.n, 1)
				be.Copy(dcoef.Buffer(), ci, []int{1}, sc.Buffer(), 0, []int{1}, []int{1})
			}
		}
		ta.Release()
		sc.Release()
		gkt.Release()
		for i, w := range ws {
			if dwt[i] != nil {
				kk := ipow(a.cfg.Kernels[i], a.cfg.Dims)
				dw := tensor.Empty(be, tensor.Float32, w.Value.Shape()...)
				transpose(be, dw, dwt[i], nd, kk, rows)
				dwt[i].Release()
				out[1+i] = dw
			}
		}
		for _, t := range gt {
			t.Value.Release()
		}
		return out
	})
}

// seg is one contiguous piece of the roll that maps kernel tap j to
// position (j − c0) mod m of the padded FFT grid.
type seg struct{ src, dst, n int }

func rollSegs(S, c0, m int) []seg {
	out := []seg{{src: c0, dst: 0, n: S - c0}}
	if c0 > 0 {
		out = append(out, seg{src: 0, dst: m - c0, n: c0})
	}
	return out
}

// fourierPlan holds the geometry of one Fourier aggregated convolution.
type fourierPlan struct {
	be      tensor.Backend
	dims    int
	n, c, o int   // batch, input and output channels
	cg      int   // input channels per group: c, or 1 when depthwise
	rows    int   // kernel rows o·cg
	sp, m   []int // spatial input sizes, padded FFT sizes
	os      []int // output sizes
	ks, kc  []int // kernel sizes and centres per spatial axis
	stride  int
	nsp     int // Π m
	nf      int // complex frequencies per plane
	dw      bool
	// dft, idft: for short 1-D kernels the kernel's spectrum and the
	// kernel gradient are dense products with these matrices (S×2F and
	// 2F×S) instead of length-m FFTs of mostly-zero rows; nil otherwise.
	dft, idft *tensor.Tensor
}

// dftMaxSpan is the largest 1-D summed kernel whose spectrum is computed by
// a DFT matrix product (one GEMM of rows×S×2F) rather than an FFT of the
// padded kernel (the GEMM wins while S is small against the FFT's cost per
// point); tests lower it to check both paths.
var dftMaxSpan = 128

// dftMats caches the DFT matrices of a layer, keyed by (S, centre, m); they
// live as long as the layer (a few S×m floats per input size).
type dftMats map[[3]int][2]*tensor.Tensor

// get returns E [S][F][2] with E[j,f] = exp(−2πi·f·(j−c)/m), the spectrum of
// tap j rolled to (j−c) mod m, and its adjoint for IRFFT, Einv [F][2][S]
// with Einv[f,·,j] = (w_f/m)·(cos θ, −sin θ), w_f = 1 at DC and Nyquist,
// 2 elsewhere: dK[j] = Σ_f Re(D_f·e^{iθ})·w_f/m = IRFFT(D)[(j−c) mod m].
func (d dftMats) get(be tensor.Backend, S, c, m int) (fwd, inv *tensor.Tensor) {
	key := [3]int{S, c, m}
	if e, ok := d[key]; ok {
		return e[0], e[1]
	}
	F := m/2 + 1
	ef := make([]float32, S*F*2)
	ei := make([]float32, F*2*S)
	for j := 0; j < S; j++ {
		for f := 0; f < F; f++ {
			k := (f * (j - c)) % m
			if k < 0 {
				k += m
			}
			th := 2 * math.Pi * float64(k) / float64(m)
			cs, sn := math.Cos(th), math.Sin(th)
			ef[(j*F+f)*2] = float32(cs)
			ef[(j*F+f)*2+1] = float32(-sn)
			w := 2.0
			if f == 0 || 2*f == m {
				w = 1
			}
			ei[(2*f)*S+j] = float32(w / float64(m) * cs)
			ei[(2*f+1)*S+j] = float32(-w / float64(m) * sn)
		}
	}
	fwd = tensor.FromFloat32(be, ef, S, 2*F)
	inv = tensor.FromFloat32(be, ei, 2*F, S)
	d[key] = [2]*tensor.Tensor{fwd, inv}
	return fwd, inv
}

// kernelRows returns K's rows in the plan's order ([o] when depthwise,
// channel-major [cg][o] otherwise) as a contiguous [rows, S] tensor and
// whether it is a copy.
func (p *fourierPlan) kernelRows(K *tensor.Tensor) (*tensor.Tensor, bool) {
	if p.dw {
		if K.IsContiguous() && K.Offset() == 0 {
			return K, false
		}
		return K.Clone(), true
	}
	return K.Permute(1, 0, 2).Clone(), true
}

// matmul computes c = a·b for row-major a [m,k] and b [k,n].
func matmul(be tensor.Backend, c, a, b *tensor.Tensor, m, k, n int) {
	be.MatMul(c.Buffer(), a.Buffer(), b.Buffer(), tensor.MatMulParams{Batch: 1, M: m, K: k, N: n, Alpha: 1})
}

func (p *fourierPlan) rfft(dst, src *tensor.Tensor, batch int) {
	if p.dims == 1 {
		p.be.RFFT(dst.Buffer(), src.Buffer(), batch, p.m[0])
	} else {
		p.be.RFFT2(dst.Buffer(), src.Buffer(), batch, p.m[0], p.m[1])
	}
}

func (p *fourierPlan) irfft(dst, src *tensor.Tensor, batch int) {
	if p.dims == 1 {
		p.be.IRFFT(dst.Buffer(), src.Buffer(), batch, p.m[0])
	} else {
		p.be.IRFFT2(dst.Buffer(), src.Buffer(), batch, p.m[0], p.m[1])
	}
}

// padStrides are the strides of [batch, ch, m...] with the spatial steps
// multiplied by step (step > 1 addresses the strided output positions).
func (p *fourierPlan) padStrides(ch, step int) []int {
	if p.dims == 1 {
		return []int{ch * p.nsp, p.nsp, step}
	}
	return []int{ch * p.nsp, p.nsp, step * p.m[1], step}
}

// roll copies between the kernel [o, cg, ks...] and the padded grid with
// tap j at (j − c) mod m (c the kernel's centre); toGrid selects the direction. The grid's planes
// are in channel-major order [cg][o] (the transposed kernel) for full
// convolutions and [o] for depthwise ones.
func (p *fourierPlan) roll(grid, kernel *tensor.Tensor, toGrid bool) {
	gs := []int{p.cg * p.nsp, p.nsp} // plane (o, i) at o·cg + i
	if !p.dw {
		gs = []int{p.nsp, p.o * p.nsp} // plane (o, i) at i·o + o
	}
	plane := tensor.Numel(p.ks)
	ks := []int{p.cg * plane, plane}
	copyPiece := func(shape []int, gOff, kOff int, gstr, kstr []int) {
		shape = append([]int{p.o, p.cg}, shape...)
		gstr = append(slices.Clone(gs), gstr...)
		kstr = append(slices.Clone(ks), kstr...)
		if toGrid {
			p.be.Copy(grid.Buffer(), gOff, gstr, kernel.Buffer(), kernel.Offset()+kOff, kstr, shape)
		} else {
			p.be.Copy(kernel.Buffer(), kernel.Offset()+kOff, kstr, grid.Buffer(), gOff, gstr, shape)
		}
	}
	if p.dims == 1 {
		for _, s := range rollSegs(p.ks[0], p.kc[0], p.m[0]) {
			copyPiece([]int{s.n}, s.dst, s.src, []int{1}, []int{1})
		}
		return
	}
	for _, a := range rollSegs(p.ks[0], p.kc[0], p.m[0]) {
		for _, b := range rollSegs(p.ks[1], p.kc[1], p.m[1]) {
			copyPiece([]int{a.n, b.n}, a.dst*p.m[1]+b.dst, a.src*p.ks[1]+b.src, []int{p.m[1], 1}, []int{p.ks[1], 1})
		}
	}
}

// fourierConv is the op y = stride(conv_same(x, K)) computed by real FFTs:
// the input is zero-padded to m ≥ n + s − 1 per axis (m from fftSize: an
// even length with only factors 2, 3, 5, 7), the summed
// kernel K [O, C/groups, s...] is rolled so that its centre tap (win[i].c)
// sits at the origin, H = FFT(K_roll), and
//
//	Y[n,o] = Σ_i X[n,i] · conj(H[o,i]),   y = IRFFT(Y)[0:n:stride]
//
// which is the exact linear 'same' cross-correlation (no wrap-around since
// m ≥ n + s − 1). Backward, with G = RFFT(g scattered on the grid):
//
//	dX[n,i] = Σ_o G[n,o] · H[o,i],   dK_roll[o,i] = IRFFT(Σ_n X[n,i] · conj(G[n,o])).
//
// Only one kernel spectrum is computed, of the summed kernel. For full
// convolutions the kernel spectrum is kept channel-major, H_T [I][O][F], so
// that the three contractions are ComplexContract's three forms with no
// conjugation pass: forward = GradX(X, H_T), dX = Forward(G, H_T),
// dK_T = GradW(X, G). Depthwise convolutions use ComplexMul.
func fourierConv(x, K *autograd.Var, win []window, stride int, depthwise bool, cache dftMats) *autograd.Var {
	be := x.Value.Backend()
	xs := x.Value.Shape()
	ks := K.Value.Shape()
	dims := len(xs) - 2
	p := &fourierPlan{be: be, dims: dims, n: xs[0], c: xs[1], o: ks[0], cg: ks[1], stride: stride, dw: depthwise}
	p.rows = p.o * p.cg
	p.sp = slices.Clone(xs[2:])
	p.ks = slices.Clone(ks[2:])
	p.nsp = 1
	for i, v := range p.sp {
		p.kc = append(p.kc, win[i].c)
		mm := fftSize(v + p.ks[i] - 1)
		p.m = append(p.m, mm)
		p.os = append(p.os, (v-1)/stride+1)
		p.nsp *= mm
	}
	if dims == 1 {
		p.nf = p.m[0]/2 + 1
	} else {
		p.nf = p.m[0] * (p.m[1]/2 + 1)
	}
	if dims == 1 && p.ks[0] <= dftMaxSpan {
		p.dft, p.idft = cache.get(be, p.ks[0], p.kc[0], p.m[0])
	}
	N, C, O, F := p.n, p.c, p.o, p.nf
	yshape := append([]int{N, O}, p.os...)
	cplx := []int{C * F, F, 1} // complex strides of [N][C][F]

	// forward
	xpad := tensor.Zeros(be, N*C*p.nsp)
	be.Copy(xpad.Buffer(), 0, p.padStrides(C, 1), x.Value.Buffer(), x.Value.Offset(), x.Value.Strides(), xs)
	Xf := tensor.Empty(be, tensor.Float32, N*C*F*2)
	Hf := p.kernelSpectrum(K.Value) // depthwise [C][F], full H_T [I][O][F]
	Yf := tensor.Empty(be, tensor.Float32, N*O*F*2)
	fd := p.fused()
	if fd == nil {
		p.rfft(Xf, xpad, N*C)
	}
	switch {
	case fd != nil:
		// Y = RFFT(x)·conj(H), and X for the backward, in one pass
		fd.RFFTMulSpec(Yf.Buffer(), Xf.Buffer(), xpad.Buffer(), Hf.Buffer(), N, C, p.m[0], true)
	case depthwise:
		be.ComplexMul(Yf.Buffer(), []int{N, C, F}, Xf.Buffer(), 0, cplx, Hf.Buffer(), 0, []int{0, F, 1}, true)
	default:
		// Y[n,o] = Σ_i X[n,i] · conj(H_T[i,o])
		be.ComplexContract(tensor.ContractGradX, Yf.Buffer(), Xf.Buffer(), Hf.Buffer(), N, O, C, F)
	}
	ypad := xpad // IRFFT overwrites its output: reuse the padded input's grid
	if O != C {
		xpad.Release()
		ypad = tensor.Empty(be, tensor.Float32, N*O*p.nsp)
	}
	p.irfft(ypad, Yf, N*O)
	Yf.Release()
	y := tensor.Empty(be, tensor.Float32, yshape...)
	be.Copy(y.Buffer(), 0, cstr(yshape...), ypad.Buffer(), 0, p.padStrides(O, stride), yshape)
	ypad.Release()

	if !autograd.GradEnabled() || (!x.RequiresGrad() && !K.RequiresGrad()) {
		Xf.Release()
		Hf.Release()
		return autograd.NewOp(y, []*autograd.Var{x, K}, nil)
	}
	inputs := []*autograd.Var{x, K, autograd.Temp(Xf), autograd.Temp(Hf)}
	return autograd.NewOp(y, inputs, func(g *tensor.Tensor) []*tensor.Tensor {
		out := make([]*tensor.Tensor, len(inputs))
		gpad := tensor.Zeros(be, N*O*p.nsp)
		be.Copy(gpad.Buffer(), 0, p.padStrides(O, stride), g.Buffer(), g.Offset(), g.Strides(), yshape)
		G := tensor.Empty(be, tensor.Float32, N*O*F*2)
		var dXf *tensor.Tensor
		if fd != nil && x.RequiresGrad() {
			// dX = G·H, and G for the kernel gradient, in one pass
			dXf = tensor.Empty(be, tensor.Float32, N*C*F*2)
			fd.RFFTMulSpec(dXf.Buffer(), G.Buffer(), gpad.Buffer(), Hf.Buffer(), N, C, p.m[0], false)
		} else {
			p.rfft(G, gpad, N*O)
		}
		if O != C || !x.RequiresGrad() {
			gpad.Release()
			gpad = nil
		}
		if x.RequiresGrad() {
			switch {
			case dXf != nil: // fused with G above
			case depthwise:
				dXf = tensor.Empty(be, tensor.Float32, N*C*F*2)
				be.ComplexMul(dXf.Buffer(), []int{N, C, F}, G.Buffer(), 0, cplx, Hf.Buffer(), 0, []int{0, F, 1}, false)
			default:
				// dX[n,i] = Σ_o G[n,o] · H_T[i,o]
				dXf = tensor.Empty(be, tensor.Float32, N*C*F*2)
				be.ComplexContract(tensor.ContractForward, dXf.Buffer(), G.Buffer(), Hf.Buffer(), N, O, C, F)
			}
			dxpad := gpad // reused when O == C (IRFFT overwrites)
			if dxpad == nil {
				dxpad = tensor.Empty(be, tensor.Float32, N*C*p.nsp)
			}
			p.irfft(dxpad, dXf, N*C)
			dXf.Release()
			dx := tensor.Empty(be, tensor.Float32, xs...)
			be.Copy(dx.Buffer(), 0, cstr(xs...), dxpad.Buffer(), 0, p.padStrides(C, 1), xs)
			dxpad.Release()
			out[0] = dx
		}
		if K.RequiresGrad() {
			dWf := tensor.Empty(be, tensor.Float32, p.rows*F*2)
			if fd != nil {
				// Σ_n X · conj(G) in one pass
				fd.ComplexMulSum(dWf.Buffer(), Xf.Buffer(), G.Buffer(), N, C*F, true)
			} else if depthwise {
				// Σ_n X · conj(G)
				P := tensor.Empty(be, tensor.Float32, N*C*F*2)
				be.ComplexMul(P.Buffer(), []int{N, C, F}, Xf.Buffer(), 0, cplx, G.Buffer(), 0, cplx, true)
				be.Reduce(tensor.ReduceSum, dWf.Buffer(), P.Buffer(), 1, N, C*F*2)
				P.Release()
			} else {
				// dK_T[i,o] = Σ_n X[n,i] · conj(G[n,o])
				be.ComplexContract(tensor.ContractGradW, dWf.Buffer(), Xf.Buffer(), G.Buffer(), N, O, C, F)
			}
			dK := tensor.Empty(be, tensor.Float32, ks...)
			if p.idft != nil {
				// only the S taps of IRFFT(dWf) that are kernel taps
				rows := tensor.Empty(be, tensor.Float32, p.rows, p.ks[0])
				matmul(be, rows, dWf, p.idft, p.rows, 2*F, p.ks[0])
				if depthwise {
					dK.CopyFrom(rows.Reshape(ks...))
				} else {
					dK.CopyFrom(rows.Reshape(ks[1], ks[0], ks[2]).Permute(1, 0, 2))
				}
				rows.Release()
			} else {
				spad := tensor.Empty(be, tensor.Float32, p.rows*p.nsp)
				p.irfft(spad, dWf, p.rows)
				p.roll(spad, dK, false)
				spad.Release()
			}
			dWf.Release()
			out[1] = dK
		}
		G.Release()
		return out
	})
}

// fftSize is the padded FFT length for n: the smallest even 7-smooth
// number ≥ n (odd lengths run about twice slower per point in the engine's
// real FFTs, which pair samples).
func fftSize(n int) int {
	m := fft.NextSmooth(n)
	for m%2 == 1 {
		m = fft.NextSmooth(m + 1)
	}
	return m
}

// kernelSpectrum returns RFFT(K_roll) for K [o, cg, ks...]: [o][F] when
// depthwise, channel-major [cg][o][F] otherwise.
func (p *fourierPlan) kernelSpectrum(K *tensor.Tensor) *tensor.Tensor {
	if !K.IsContiguous() {
		panic(errors.New("dash: internal: summed kernel not contiguous"))
	}
	Hf := tensor.Empty(p.be, tensor.Float32, p.rows*p.nf*2)
	if p.dft != nil {
		rows, cp := p.kernelRows(K)
		matmul(p.be, Hf, rows, p.dft, p.rows, p.ks[0], 2*p.nf)
		if cp {
			rows.Release()
		}
		return Hf
	}
	grid := tensor.Zeros(p.be, p.rows*p.nsp)
	p.roll(grid, K, true)
	p.rfft(Hf, grid, p.rows)
	grid.Release()
	return Hf
}
