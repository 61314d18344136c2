package dash

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// netSpec is one network of a run: its label, kind and architecture (nil:
// the backbone's default kernels).
type netSpec struct {
	label, kind string
	arch        *Architecture
}

// runNetworks lists a run's networks: the searched one, the default-kernel
// baseline and n random architectures drawn from searched's search space.
func runNetworks(searched *Architecture, n int, seed uint64) []netSpec {
	nets := []netSpec{{"dash", "searched", searched}, {"baseline", "baseline", nil}}
	for i := 1; i <= n; i++ {
		nets = append(nets, netSpec{fmt.Sprintf("random-%d", i), "random", RandomArchitecture(searched, seed, i)})
	}
	return nets
}

// RandomArchitecture draws the i-th random architecture of a run: for each
// layer of the searched architecture, one (k, d) uniformly from its
// candidates. It depends only on (seed, i) and the search space, never on
// the search's outcome.
func RandomArchitecture(searched *Architecture, seed uint64, i int) *Architecture {
	r := rand.New(rand.NewPCG(seed^0x9e3779b97f4a7c15, uint64(i)))
	a := &Architecture{Task: searched.Task, Kernels: searched.Kernels, Dilations: searched.Dilations, Seed: seed}
	for _, l := range searched.Layers {
		c := l.Candidates[r.IntN(len(l.Candidates))]
		a.Layers = append(a.Layers, LayerChoice{Name: l.Name, Kernel: c[0], Dilation: c[1], Default: l.Default, Candidates: l.Candidates})
	}
	return a
}

// archKD lists (k, d) per layer of a (nil: the defaults recorded in ref).
func archKD(a, ref *Architecture) [][2]int {
	var out [][2]int
	if a == nil {
		for _, l := range ref.Layers {
			out = append(out, l.Default)
		}
		return out
	}
	for _, l := range a.Layers {
		out = append(out, [2]int{l.Kernel, l.Dilation})
	}
	return out
}

// proxyScore is the validation score of a short training (the
// hyperparameter stage's epochs and fraction) at the search width with the
// chosen hyperparameters. When the search and retraining widths agree, the
// hyperparameter stage already trained exactly that, and its best trial is
// reused.
func proxyScore(ctx context.Context, cfg Config, arch *Architecture, hp *HParams, label string) (float64, error) {
	if cfg.Budget.SearchWidth == cfg.Budget.Width {
		best := math.Inf(1)
		for _, t := range hp.Trials {
			best = min(best, t.Val)
		}
		return best, nil
	}
	c := cfg
	c.Budget.Width = cfg.Budget.SearchWidth
	r, err := runFit(ctx, c, "proxy", label, arch, *hp, c.Budget.HPOEpochs, c.Budget.HPOFraction, false, "proxy-"+label, "")
	if err != nil {
		return 0, err
	}
	return r.BestVal, nil
}

// ControlSummary compares the searched network with the controls of its
// run on the test split. Its values are the metric as reported (Value:
// higher is better for AUROC, mAP, accuracy and F1); ranks and verdicts
// come from the scores (lower is better).
type ControlSummary struct {
	Metric   string  `json:"metric"`
	Searched float64 `json:"searched"`
	// Baseline is the default-kernel backbone after its own
	// hyperparameter stage.
	Baseline     float64   `json:"baseline"`
	Random       []float64 `json:"random"`
	RandomMedian float64   `json:"random_median"`
	RandomMean   float64   `json:"random_mean"`
	RandomBest   float64   `json:"random_best"`
	// Rank is the searched network's rank among itself and the random
	// architectures (1 = best; ties count in its favour), out of Of.
	Rank              int  `json:"rank"`
	Of                int  `json:"of"`
	BeatsMedianRandom bool `json:"beats_median_random"`
	BeatsBaseline     bool `json:"beats_baseline"`
	BeatsChance       bool `json:"beats_chance"` // both of the above
	// Spearman and Kendall are the rank correlations between the proxy
	// score (short training at search width) and the retrained test score
	// over the searched and random networks (NaN with fewer than 3).
	Spearman  Float  `json:"spearman"`
	Kendall   Float  `json:"kendall"`
	TransferN int    `json:"transfer_n"`
	Verdict   string `json:"verdict"`
}

// Controls computes the comparison from a run's networks.
func Controls(nets []NetworkResult) *ControlSummary {
	c := &ControlSummary{Spearman: Float(math.NaN()), Kendall: Float(math.NaN())}
	var dash *NetworkResult
	var randScores []float64
	var proxy, test []float64
	for i := range nets {
		n := &nets[i]
		switch n.Kind {
		case "searched":
			dash = n
		case "baseline":
			c.Baseline = n.Test.Value
		case "random":
			c.Random = append(c.Random, n.Test.Value)
			randScores = append(randScores, n.Test.Score)
		}
		if c.Metric == "" {
			c.Metric = n.Test.Metric
		}
		if p := float64(n.Proxy); n.Kind != "baseline" && !math.IsInf(p, 0) && !math.IsNaN(p) {
			proxy = append(proxy, p)
			test = append(test, n.Test.Score)
		}
	}
	if dash == nil {
		c.Verdict = "no searched network in this run"
		return c
	}
	c.Searched = dash.Test.Value
	c.Of = len(c.Random) + 1
	c.Rank = 1
	for _, s := range randScores {
		if s < dash.Test.Score {
			c.Rank++
		}
	}
	var base float64 = math.NaN()
	for _, n := range nets {
		if n.Kind == "baseline" {
			base = n.Test.Score
		}
	}
	c.BeatsBaseline = !math.IsNaN(base) && dash.Test.Score < base
	c.TransferN = len(proxy)
	if len(proxy) >= 3 {
		c.Spearman, c.Kendall = Float(Spearman(proxy, test)), Float(KendallTau(proxy, test))
	}
	if len(c.Random) == 0 {
		c.Verdict = "No random architectures were trained (--random 0), so whether the search beats chance was not measured."
		return c
	}
	c.RandomMedian, c.RandomMean = median(c.Random), mean(c.Random)
	best := 0 // by score: the best value is the largest for higher-better metrics (AUROC, mAP)
	for i, s := range randScores {
		if s < randScores[best] {
			best = i
		}
	}
	c.RandomBest = c.Random[best]
	ms := median(randScores)
	c.BeatsMedianRandom = dash.Test.Score < ms
	c.BeatsChance = c.BeatsMedianRandom && c.BeatsBaseline
	var parts []string
	parts = append(parts, fmt.Sprintf("the searched network's test %s is %.4g; it ranks %d of %d among itself and %d random architectures (median random %.4g, best random %.4g); the tuned default-kernel baseline has %.4g",
		c.Metric, c.Searched, c.Rank, c.Of, len(c.Random), c.RandomMedian, c.RandomBest, c.Baseline))
	switch {
	case c.BeatsChance && c.Rank == 1:
		c.Verdict = "The search beat chance, and every random architecture: " + parts[0] + "."
	case c.BeatsChance:
		c.Verdict = fmt.Sprintf("The search beat chance (the median random architecture and the tuned baseline), but %d of the %d random architectures were better: ", c.Rank-1, len(c.Random)) + parts[0] + "."
	case c.BeatsMedianRandom:
		c.Verdict = "The search beat the median random architecture but NOT the tuned baseline: " + parts[0] + "."
	default:
		c.Verdict = "The search did NOT beat chance: " + parts[0] + "."
	}
	return c
}

// AlphaSummary is the concentration of softmax(α) per searched layer.
type AlphaSummary struct {
	Uniform float64         `json:"uniform"` // 1/|K||D|
	Layers  []Concentration `json:"layers"`
	// Decided counts the layers whose max softmax(α) is at least 3× the
	// uniform value.
	Decided        int     `json:"decided_layers"`
	MedianOverUnif float64 `json:"median_max_over_uniform"`
}

func alphaSummary(a *Architecture) *AlphaSummary {
	if len(a.Layers) == 0 || len(a.Layers[0].Alpha) == 0 {
		return nil
	}
	s := &AlphaSummary{Uniform: 1 / float64(len(a.Layers[0].Alpha))}
	var r []float64
	for _, l := range a.Layers {
		c := Concentrate(l.Alpha)
		s.Layers = append(s.Layers, c)
		r = append(r, c.OverUnif)
		if c.OverUnif >= 3 {
			s.Decided++
		}
	}
	s.MedianOverUnif = median(r)
	return s
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// std is the sample standard deviation (0 for fewer than 2 values).
func std(v []float64) float64 {
	if len(v) < 2 {
		return 0
	}
	m := mean(v)
	var s float64
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(v)-1))
}

// ranks returns the 1-based ranks of v, ties getting their average rank.
func ranks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && v[idx[j+1]] == v[idx[i]] {
			j++
		}
		avg := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = avg
		}
		i = j + 1
	}
	return r
}

// Spearman is the rank correlation of x and y (Pearson correlation of their
// ranks, ties averaged); NaN when either is constant or lengths differ.
func Spearman(x, y []float64) float64 {
	if len(x) != len(y) || len(x) < 2 {
		return math.NaN()
	}
	rx, ry := ranks(x), ranks(y)
	mx, my := mean(rx), mean(ry)
	var sxy, sxx, syy float64
	for i := range rx {
		a, b := rx[i]-mx, ry[i]-my
		sxy += a * b
		sxx += a * a
		syy += b * b
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// KendallTau is Kendall's τ-b of x and y; NaN when undefined.
func KendallTau(x, y []float64) float64 {
	if len(x) != len(y) || len(x) < 2 {
		return math.NaN()
	}
	var conc, disc, tx, ty float64
	for i := range x {
		for j := i + 1; j < len(x); j++ {
			dx, dy := x[i]-x[j], y[i]-y[j]
			switch {
			case dx == 0 && dy == 0:
			case dx == 0:
				tx++
			case dy == 0:
				ty++
			case (dx > 0) == (dy > 0):
				conc++
			default:
				disc++
			}
		}
	}
	den := math.Sqrt((conc + disc + tx) * (conc + disc + ty))
	if den == 0 {
		return math.NaN()
	}
	return (conc - disc) / den
}

// SeedRow is one seed of a multi-seed run.
type SeedRow struct {
	Seed     uint64          `json:"seed"`
	Dir      string          `json:"dir"`
	Controls *ControlSummary `json:"controls"`
	Alpha    *AlphaSummary   `json:"alpha"`
	Seconds  float64         `json:"seconds"`
}

// SeedSummary aggregates the runs of several seeds (summary.json).
type SeedSummary struct {
	Task   string    `json:"task"`
	Budget string    `json:"budget"`
	Metric string    `json:"metric"`
	Random int       `json:"random_per_seed"`
	Seeds  []SeedRow `json:"seeds"`
	// Mean ± sample standard deviation over seeds of the searched
	// network's, the baseline's and the random architectures' (mean per
	// seed) test metric.
	Searched         float64 `json:"searched_mean"`
	SearchedStd      float64 `json:"searched_std"`
	Baseline         float64 `json:"baseline_mean"`
	BaselineStd      float64 `json:"baseline_std"`
	RandomMean       float64 `json:"random_mean"`
	RandomStd        float64 `json:"random_std"`
	BeatMedianRandom int     `json:"seeds_beating_median_random"`
	BeatBaseline     int     `json:"seeds_beating_baseline"`
	BeatChance       int     `json:"seeds_beating_chance"`
	DecidedLayers    int     `json:"decided_layers"`
	NLayers          int     `json:"layers"`
	Verdict          string  `json:"verdict"`
}

// RunSeeds runs the pipeline for seeds cfg.Seed … cfg.Seed+n−1, each in its
// own directory OutDir/seed-<s>, and writes summary.json, summary.md and
// summary.png to OutDir. With n == 1 it is Run in OutDir itself. Every
// seed trains on cfg.Split, the data drawn once (the CLI draws it with the
// first seed), so seed s+i of a multi-seed run differs from a single run
// with seed s+i, whose split is drawn with s+i.
func RunSeeds(ctx context.Context, cfg Config, n int) (*SeedSummary, error) {
	if n < 1 {
		return nil, fmt.Errorf("dash: --seeds %d must be at least 1", n)
	}
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	sum := &SeedSummary{Task: cfg.Task.Name, Budget: cfg.Budget.Name, Random: cfg.Budget.Random}
	if err := cfg.prefetchSearches(ctx, n); err != nil { // trials.go: no-op in this process
		return nil, fmt.Errorf("search: %w", err)
	}
	for i := 0; i < n; i++ {
		c := cfg
		c.Seed = cfg.Seed + uint64(i)
		if n > 1 {
			c.OutDir = filepath.Join(cfg.OutDir, fmt.Sprintf("seed-%d", c.Seed))
		}
		cfg.Log.Info("run", "seed", c.Seed, "of", fmt.Sprintf("%d/%d", i+1, n), "dir", c.OutDir)
		m, err := Run(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("seed %d: %w", c.Seed, err)
		}
		wall, _ := m.NetworkTimes() // networks may train two at a time
		secs := m.SearchSeconds + wall
		sum.Seeds = append(sum.Seeds, SeedRow{Seed: c.Seed, Dir: c.OutDir, Controls: m.Controls, Alpha: m.Alpha, Seconds: secs})
	}
	sum.aggregate()
	if n == 1 {
		return sum, nil
	}
	if err := sum.write(cfg.OutDir); err != nil {
		return nil, err
	}
	return sum, nil
}

// write writes summary.json, summary.md and summary.png to dir.
func (s *SeedSummary) write(dir string) error {
	if err := WriteJSON(filepath.Join(dir, "summary.json"), s); err != nil {
		return err
	}
	if err := WriteSeedsPlot(filepath.Join(dir, "summary.png"), s); err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, "summary.md"), []byte(s.Markdown()))
}

// Summarize aggregates finished runs in dir/seed-*/ (e.g. seeds run as
// separate processes with --out dir/seed-<s>) into dir/summary.json,
// summary.md and summary.png, without training anything.
func Summarize(dir string) (*SeedSummary, error) {
	dirs, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
	var ms []*Metrics
	for _, d := range dirs {
		m := &Metrics{}
		if err := ReadJSON(filepath.Join(d, "metrics.json"), m); err != nil {
			return nil, fmt.Errorf("%s: %w", d, err)
		}
		if m.Controls == nil {
			return nil, fmt.Errorf("%s: the run has not finished (no controls in metrics.json); continue it with --resume", d)
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("%s: no seed-*/metrics.json to summarise", dir)
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Seed < ms[j].Seed })
	sum := &SeedSummary{Task: ms[0].Task, Budget: ms[0].Budget}
	for i, m := range ms {
		if m.Task != sum.Task || m.Budget != sum.Budget {
			return nil, fmt.Errorf("%s: task %s budget %s, but %s has task %s budget %s", dir, m.Task, m.Budget, dirs[0], sum.Task, sum.Budget)
		}
		wall, _ := m.NetworkTimes() // networks may train two at a time
		secs := m.SearchSeconds + wall
		sum.Random = max(sum.Random, len(m.Controls.Random))
		sum.Seeds = append(sum.Seeds, SeedRow{Seed: m.Seed, Dir: filepath.Join(dir, fmt.Sprintf("seed-%d", m.Seed)), Controls: m.Controls, Alpha: m.Alpha, Seconds: secs})
		_ = i
	}
	sum.aggregate()
	return sum, sum.write(dir)
}

func (s *SeedSummary) aggregate() {
	var sr, bs, rm []float64
	s.BeatMedianRandom, s.BeatBaseline, s.BeatChance, s.DecidedLayers, s.NLayers = 0, 0, 0, 0, 0
	for _, r := range s.Seeds {
		c := r.Controls
		if c == nil {
			continue
		}
		s.Metric = c.Metric
		sr = append(sr, c.Searched)
		bs = append(bs, c.Baseline)
		if len(c.Random) > 0 {
			rm = append(rm, c.RandomMean)
		}
		if c.BeatsMedianRandom {
			s.BeatMedianRandom++
		}
		if c.BeatsBaseline {
			s.BeatBaseline++
		}
		if c.BeatsChance {
			s.BeatChance++
		}
		if r.Alpha != nil {
			s.DecidedLayers += r.Alpha.Decided
			s.NLayers += len(r.Alpha.Layers)
		}
	}
	s.Searched, s.SearchedStd = mean(sr), std(sr)
	s.Baseline, s.BaselineStd = mean(bs), std(bs)
	s.RandomMean, s.RandomStd = mean(rm), std(rm)
	n := len(s.Seeds)
	switch {
	case s.Random == 0:
		s.Verdict = fmt.Sprintf("No random architectures were trained; the searched network beat the tuned baseline in %d of %d seeds.", s.BeatBaseline, n)
	case s.BeatChance == n:
		first := 0
		for _, r := range s.Seeds {
			if r.Controls != nil && r.Controls.Rank == 1 {
				first++
			}
		}
		s.Verdict = fmt.Sprintf("The search beat chance in every seed (%d of %d): below the median random architecture and the tuned baseline each time; it beat every random architecture in %d of %d seeds.", n, n, first, n)
	default:
		s.Verdict = fmt.Sprintf("The search did NOT beat chance in every seed: it beat the median random architecture in %d of %d seeds and the tuned baseline in %d of %d.", s.BeatMedianRandom, n, s.BeatBaseline, n)
	}
}

// Markdown renders the summary as summary.md.
func (s *SeedSummary) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# DASH over %d seeds: %s (budget %s)\n\n", len(s.Seeds), s.Task, s.Budget)
	fmt.Fprintf(&b, "**%s**\n\n", s.Verdict)
	fmt.Fprintf(&b, "Test %s (%s), mean ± std over seeds: searched %.4g ± %.2g, tuned baseline %.4g ± %.2g, random architectures %.4g ± %.2g (%d per seed).\n\n",
		s.Metric, better(s.Metric), s.Searched, s.SearchedStd, s.Baseline, s.BaselineStd, s.RandomMean, s.RandomStd, s.Random)
	fmt.Fprintf(&b, "| seed | searched | baseline | median random | best random | rank | beats chance | layers with max α ≥ 3× uniform | proxy→test Spearman | time |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range s.Seeds {
		c := r.Controls
		if c == nil {
			continue
		}
		dec := "-"
		if r.Alpha != nil {
			dec = fmt.Sprintf("%d/%d", r.Alpha.Decided, len(r.Alpha.Layers))
		}
		fmt.Fprintf(&b, "| %d | %.4g | %.4g | %.4g | %.4g | %d/%d | %s | %s | %s | %.0f s |\n", r.Seed, c.Searched, c.Baseline, c.RandomMedian, c.RandomBest,
			c.Rank, c.Of, yesNo(c.BeatsChance), dec, fmtCorr(float64(c.Spearman)), r.Seconds)
	}
	fmt.Fprintf(&b, "\nEach seed's directory holds its own report.md. Plot: `summary.png`.\n")
	return b.String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}

func fmtCorr(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", v)
}

// Float is a float64 that encodes NaN and ±Inf as JSON null (and decodes
// null as NaN), for values that may be undefined.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}
