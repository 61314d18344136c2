package dash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/nn/optim"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

// Budget sets how much work each stage does.
type Budget struct {
	Name string `json:"name"`
	// TrainLimit caps the training samples (0 = all); Width overrides the
	// retrained backbone's width (WRN k, ResNet1D m; 0 = task default);
	// SearchWidth likewise for the searched network.
	TrainLimit  int `json:"train_limit"`
	ValLimit    int `json:"val_limit"` // caps the validation samples (0 = all)
	Width       int `json:"width"`
	SearchWidth int `json:"search_width"`
	BatchSize   int `json:"batch_size"` // 0 = task default

	SearchEpochs   int     `json:"search_epochs"`
	SearchFraction float64 `json:"search_fraction"` // share of training batches per search epoch

	HPOEpochs   int     `json:"hpo_epochs"`
	HPOFraction float64 `json:"hpo_fraction"`
	// HPOSchedule is the learning-rate schedule of a hyperparameter trial
	// (and of the transfer check's proxy training): "retrain" (the
	// default; empty means the same) follows the retraining schedule
	// compressed to the trial's length, so a trial ends with the rate
	// decayed as retraining does (×Gamma after 2/3 of its steps when
	// retraining steps after epoch 2 of 3); "constant" keeps the chosen
	// rate throughout (the behaviour before 2026-12-04).
	HPOSchedule  string    `json:"hpo_schedule"`
	LRs          []float32 `json:"lrs"`
	Dropouts     []float32 `json:"dropouts"`
	WeightDecays []float32 `json:"weight_decays"`
	Momentums    []float32 `json:"momentums"`

	// RetrainBackbone, if set, replaces the task's backbone for the
	// discrete networks (hyperparameter stage, retraining, evaluation),
	// e.g. "resnet1d-causal".
	RetrainBackbone string `json:"retrain_backbone,omitempty"`

	// Random is the number of random architectures trained as controls.
	Random int `json:"random"`

	RetrainEpochs int     `json:"retrain_epochs"`
	Milestones    []int   `json:"milestones"` // epochs where the LR is multiplied by Gamma
	Gamma         float32 `json:"gamma"`
}

// demoPixels is the largest 2-D input (H·W) the demo budget trains on its
// full sample count.
const demoPixels = 32 * 32

// spatialSize is the product of a task's spatial input dimensions.
func spatialSize(task *datasets.Task) int {
	n := 1
	if len(task.InShape) > 1 {
		for _, d := range task.InShape[1:] {
			n *= d
		}
	}
	return n
}

// Budgets returns the named budget for a task: "demo" (minutes on two CPU
// cores) or "paper" (the reference's epochs and grids).
func Budgets(name string, task *datasets.Task) (Budget, error) {
	switch name {
	case "demo":
		b := Budget{Name: "demo", TrainLimit: 6000, ValLimit: 1000, Width: 8, SearchWidth: 8, BatchSize: 128,
			SearchEpochs: 3, SearchFraction: 0.5,
			HPOEpochs: 1, HPOFraction: 1,
			// lr 0.01 is too slow for 3 retraining epochs, and a one-epoch
			// trial cannot tell: in a sweep over seeds 0–3 it was chosen for
			// 5 of 24 networks; the 4 searched or random ones ended at
			// 27–43% test error against 4–9% for the others at lr 0.1 (the
			// searched network of seed 3: 27.0% at 0.01, 4.96% at 0.1)
			LRs: []float32{0.1, 0.05}, Dropouts: []float32{0}, WeightDecays: []float32{5e-4}, Momentums: []float32{0.9},
			RetrainEpochs: 3, Milestones: []int{2}, Gamma: 0.2, Random: 4, HPOSchedule: HPOScheduleRetrain}
		if task.Kind == datasets.DenseField && task.Dims == 1 {
			// the reference's dense learning rate (0.01) and below: at the
			// point tasks' 0.1 and 0.05 every Burgers network diverged
			// (training loss up to 3e12, test relative L2 2.0–3.6); 1000
			// training samples, as FNO's Burgers benchmark
			b.TrainLimit = 1000
			b.LRs = []float32{0.01, 0.001}
		}
		if task.Dims == 2 {
			b.TrainLimit, b.ValLimit, b.Width, b.SearchWidth, b.BatchSize = 4000, 1000, 1, 1, 32
			b.HPOFraction = 0.5
			b.LRs = []float32{0.1, 0.01}
			if task.Kind == datasets.DenseField {
				b.TrainLimit, b.BatchSize = 200, 10
				b.LRs = []float32{0.01, 0.001}
			} else if px := spatialSize(task); px > demoPixels {
				// a step's cost grows with the pixels: inputs larger than
				// 32×32 (spherical 60×60, audio 96×102) keep the demo to
				// minutes with fewer samples (as many pixels seen as
				// 4000 samples at 32×32, at least 1000) and 2 random
				// architectures (audio-tags at 4000 samples and 4 randoms
				// was on course for about an hour on 2 cores)
				b.TrainLimit = max(1000, 4000*demoPixels/px)
				b.Random = 2
			}
		}
		return b, nil
	case "smoke":
		// a seconds-long run for end-to-end tests
		b := Budget{Name: "smoke", TrainLimit: 256, Width: 2, SearchWidth: 2, BatchSize: 32,
			SearchEpochs: 1, SearchFraction: 0.5, HPOEpochs: 1, HPOFraction: 0.5,
			LRs: []float32{0.1, 0.01}, Dropouts: []float32{0}, WeightDecays: []float32{5e-4}, Momentums: []float32{0.9},
			RetrainEpochs: 1, Gamma: 0.2, Random: 2, HPOSchedule: HPOScheduleRetrain}
		if task.Dims == 2 {
			// never larger than the demo: a WRN-16-2 search at full
			// resolution (85×85 Darcy, dilated 9×9 kernels padded for the
			// FFT) held 12–19 GB at batch 32 and was killed for memory on a
			// 24 GB machine
			b.Width, b.SearchWidth, b.BatchSize = 1, 1, 16
			if task.Kind == datasets.DenseField {
				b.TrainLimit, b.BatchSize = 64, 4
			}
		}
		if task.Kind == datasets.DenseField {
			// the reference's dense learning rate and below: at 0.1 and
			// 0.01 both protein-dist trials diverged and the run failed
			b.LRs = []float32{0.01, 0.001}
		}
		return b, nil
	case "paper":
		b := Budget{Name: "paper", SearchEpochs: 100, SearchFraction: 0.2,
			HPOEpochs: 20, HPOFraction: 0.2,
			LRs: []float32{0.1, 0.01, 0.001}, Dropouts: []float32{0, 0.05}, WeightDecays: []float32{5e-4, 5e-6}, Momentums: []float32{0.9, 0.99},
			RetrainEpochs: 200, Gamma: 0.2, Random: 10, HPOSchedule: HPOScheduleRetrain}
		switch {
		case task.Backbone == "tcn":
			// the reference's TCN: 20 search epochs, 40 retraining
			// epochs, ×0.2 every 20 (its search optimiser: AlphaOpt)
			b.SearchEpochs, b.RetrainEpochs, b.Milestones = 20, 40, []int{20}
		case task.Dims == 2:
			b.Milestones = []int{60, 120, 160}
			b.Width, b.SearchWidth = 4, 1
		default:
			b.Milestones = []int{30, 60, 90, 120, 160}
		}
		return b, nil
	}
	return Budget{}, fmt.Errorf("unknown budget %q (want demo, paper or smoke)", name)
}

// The values of Budget.HPOSchedule.
const (
	HPOScheduleRetrain  = "retrain"
	HPOScheduleConstant = "constant"
)

// checkHPOSchedule accepts the values of Budget.HPOSchedule ("" means
// retrain); what names the setting in the error.
func checkHPOSchedule(what, v string) error {
	switch v {
	case "", HPOScheduleRetrain, HPOScheduleConstant:
		return nil
	}
	return fmt.Errorf("%s %q: want %s or %s", what, v, HPOScheduleRetrain, HPOScheduleConstant)
}

// BudgetOverrides changes a named budget's sizes from the command line
// (0 or "" keeps the budget's value).
type BudgetOverrides struct {
	TrainLimit    int    // training samples (--train-limit)
	SearchEpochs  int    // search epochs (--search-epochs)
	RetrainEpochs int    // retraining epochs (--retrain-epochs)
	HPOSchedule   string // the trials' learning-rate schedule (--hpo-schedule)
}

// Override applies o to b. A new number of retraining epochs moves the
// learning-rate milestones in proportion (the demo's ×0.2 after epoch 2
// of 3 comes after epoch 4 of 6), each kept inside the new schedule.
func (b *Budget) Override(o BudgetOverrides) error {
	for _, v := range []struct {
		flag string
		n    int
	}{{"--train-limit", o.TrainLimit}, {"--search-epochs", o.SearchEpochs}, {"--retrain-epochs", o.RetrainEpochs}} {
		if v.n < 0 {
			return fmt.Errorf("%s %d: want a positive number (or 0 for the budget's)", v.flag, v.n)
		}
	}
	if err := checkHPOSchedule("--hpo-schedule", o.HPOSchedule); err != nil {
		return err
	}
	if o.HPOSchedule != "" {
		b.HPOSchedule = o.HPOSchedule
	}
	if o.TrainLimit > 0 {
		if bs := b.BatchSize; bs > 0 && o.TrainLimit < bs {
			return fmt.Errorf("--train-limit %d: below one batch (%d samples) of the %s budget", o.TrainLimit, bs, b.Name)
		}
		b.TrainLimit = o.TrainLimit
	}
	if o.SearchEpochs > 0 {
		b.SearchEpochs = o.SearchEpochs
	}
	if n := o.RetrainEpochs; n > 0 && n != b.RetrainEpochs {
		var ms []int // none for a single epoch
		for _, m := range b.Milestones {
			if n == 1 {
				break
			}
			v := int(math.Round(float64(m) * float64(n) / float64(b.RetrainEpochs)))
			v = min(max(v, 1), n-1)
			if len(ms) == 0 || v > ms[len(ms)-1] {
				ms = append(ms, v)
			}
		}
		b.Milestones, b.RetrainEpochs = ms, n
	}
	return nil
}

// lrSchedule is the learning-rate schedule of a training of the given
// stage and length: retraining's ×Gamma steps at the milestones; for a
// hyperparameter trial or a proxy training ("hpo", "proxy") of n epochs,
// with HPOSchedule "retrain" (or empty), the same steps compressed to its
// length (optim.Stretch by RetrainEpochs/n), so that a trial is scored
// after the rate decayed as in retraining; with "constant", none. nil
// means a constant rate.
func (b Budget) lrSchedule(stage string, epochs int) ([]optim.Schedule, error) {
	trial := false
	switch stage {
	case "retrain":
	case "hpo", "proxy":
		trial = true
	default:
		return nil, fmt.Errorf("learning-rate schedule of unknown stage %q", stage)
	}
	if err := checkHPOSchedule("budget "+b.Name+": hpo_schedule", b.HPOSchedule); err != nil {
		return nil, err
	}
	if len(b.Milestones) == 0 || (trial && b.HPOSchedule == HPOScheduleConstant) {
		return nil, nil
	}
	s, err := optim.NewStepLR(b.Milestones, float64(b.Gamma))
	if err != nil {
		return nil, err
	}
	if !trial {
		return []optim.Schedule{s}, nil
	}
	if epochs <= 0 || b.RetrainEpochs <= 0 {
		return nil, fmt.Errorf("%s schedule: %d epochs against %d retraining epochs", stage, epochs, b.RetrainEpochs)
	}
	return []optim.Schedule{optim.Stretch{Then: s, Scale: float64(b.RetrainEpochs) / float64(epochs)}}, nil
}

// Config configures a DASH run.
type Config struct {
	Task      *datasets.Task
	Split     *datasets.Split
	Backend   tensor.Backend
	Kernels   []int // searched kernel sizes (default: the task's)
	Dilations []int // searched dilations (default: the task's)
	Budget    Budget
	Seed      uint64
	OutDir    string // the run directory
	Resume    bool
	Progress  io.Writer // progress lines (nil = none)
	Log       *slog.Logger
	// Search overrides the α optimisation (zero: the defaults).
	Search SearchOptions
	// Trials runs the run's trainings elsewhere (package dist: workers
	// through NATS JetStream); nil runs them in this process.
	Trials Executor
	// Parallel is how many networks (searched, baseline, random) train at
	// once after the search, in this process: 0 picks ParallelNetworks'
	// default, 1 trains them one after another. Each network's result is
	// the same whatever the value (every op uses the backend's threads);
	// peak memory grows with it. Ignored with Trials (the workers decide).
	Parallel int
}

// ParallelNetworks is the number of networks Run trains at once when
// Config.Parallel is 0: 2 on a CPU backend with at least 2 threads, 1
// otherwise. Two networks at once keep both cores busier: the demo went
// from 1.72× to 1.90× CPU per wall second, 3 min 21 s to 3 min 1 s
// (README).
func ParallelNetworks(be tensor.Backend) int {
	if c, ok := be.(*cpu.Backend); ok && c.Threads() >= 2 {
		return 2
	}
	return 1
}

// LayerChoice is the searched operation of one layer.
type LayerChoice struct {
	Name     string    `json:"name"`
	Kernel   int       `json:"k"`
	Dilation int       `json:"d"`
	Default  [2]int    `json:"default_kd"`
	Alpha    []float32 `json:"alpha"` // softmax(α) over the candidates
	// Candidates lists (k, d) in α's order.
	Candidates [][2]int `json:"candidates"`
	// Concentration of Alpha: max, max/uniform, entropy.
	Concentration Concentration `json:"concentration"`
}

// Architecture is the search stage's result.
type Architecture struct {
	Task      string        `json:"task"`
	Kernels   []int         `json:"kernels"`
	Dilations []int         `json:"dilations"`
	Layers    []LayerChoice `json:"layers"`
	// History[e][l] is layer l's softmax(α) after search epoch e.
	History [][][]float32 `json:"alpha_history"`
	// AlphaOpt is the α optimisation the search used.
	AlphaOpt AlphaOpt `json:"alpha_opt"`
	Seed     uint64   `json:"seed"`
}

// HParams are the hyperparameters chosen by the HPO stage.
type HParams struct {
	LR          float32    `json:"lr"`
	Dropout     float32    `json:"dropout"`
	WeightDecay float32    `json:"weight_decay"`
	Momentum    float32    `json:"momentum"`
	Trials      []HPOTrial `json:"trials"`
	Budget      Budget     `json:"budget"`
	Seconds     float64    `json:"seconds"`
	Metric      string     `json:"metric"`
}

// HPOTrial is one configuration of the grid and its validation score.
type HPOTrial struct {
	LR          float32 `json:"lr"`
	Dropout     float32 `json:"dropout"`
	WeightDecay float32 `json:"weight_decay"`
	Momentum    float32 `json:"momentum"`
	Val         float64 `json:"val"`
}

// Metrics is metrics.json.
type Metrics struct {
	Task            string      `json:"task"`
	Device          string      `json:"device"`
	Budget          string      `json:"budget"`
	SearchSeconds   float64     `json:"search_seconds"`
	HPOSeconds      float64     `json:"hpo_seconds"`
	RetrainSeconds  float64     `json:"retrain_seconds"`
	BaselineSeconds float64     `json:"baseline_seconds"`
	Test            EvalResult  `json:"test"`
	Baseline        EvalResult  `json:"baseline_test"`
	BestVal         float64     `json:"best_val"`
	BaselineBestVal float64     `json:"baseline_best_val"`
	Curve           []EpochStat `json:"retrain_curve"`
	BaselineCurve   []EpochStat `json:"baseline_curve"`
	Synthetic       bool        `json:"synthetic_data"`
	Seed            uint64      `json:"seed"`
	// Networks are every network of the run: "dash" (searched),
	// "baseline" (default kernels), "random-1".. (random architectures).
	Networks []NetworkResult `json:"networks"`
	// Controls compares the searched network with the others.
	Controls *ControlSummary `json:"controls,omitempty"`
	// Alpha is the concentration of softmax(α) per searched layer.
	Alpha *AlphaSummary `json:"alpha,omitempty"`
	// NetworksSeconds is the wall time of the networks' stages (all of
	// them, summed over resumed invocations); with NetworksAtOnce > 1 it
	// is less than the sum of the networks' own times.
	NetworksSeconds float64 `json:"networks_seconds"`
	// NetworksAtOnce is how many networks trained at once (Config.Parallel).
	NetworksAtOnce int `json:"networks_at_once"`
}

// NetworkTimes returns the wall time of the networks' stages and the sum
// of the networks' own times (equal when they trained one at a time; the
// wall time is the sum for metrics.json files from before
// networks_seconds).
func (m *Metrics) NetworkTimes() (wall, summed float64) {
	for _, n := range m.Networks {
		summed += n.HPOSeconds + n.Seconds
	}
	if m.NetworksSeconds == 0 {
		return summed, summed
	}
	return m.NetworksSeconds, summed
}

// NetworkResult is one network of a run, trained under the run's budget
// after its own hyperparameter stage.
type NetworkResult struct {
	Label string `json:"label"`
	Kind  string `json:"kind"` // "searched", "baseline" or "random"
	// Layers is (k, d) per searched layer, in the architecture's order.
	Layers     [][2]int `json:"layers"`
	HParams    HParams  `json:"hparams"`
	HPOSeconds float64  `json:"hpo_seconds"`
	// Proxy is the validation score of a short training of the network at
	// the search width (the hyperparameter stage's best trial when the
	// widths agree): the ranking DASH's search implicitly relies on.
	Proxy   Float       `json:"proxy_val"`
	Test    EvalResult  `json:"test"`
	BestVal float64     `json:"best_val"`
	Seconds float64     `json:"retrain_seconds"`
	Curve   []EpochStat `json:"curve"`
}

func (m *Metrics) network(label string) *NetworkResult {
	for i := range m.Networks {
		if m.Networks[i].Label == label {
			return &m.Networks[i]
		}
	}
	m.Networks = append(m.Networks, NetworkResult{Label: label})
	return &m.Networks[len(m.Networks)-1]
}

// chosen is hp without its trials and budget.
func (hp *HParams) chosen() HParams {
	return HParams{LR: hp.LR, Dropout: hp.Dropout, WeightDecay: hp.WeightDecay, Momentum: hp.Momentum, Metric: hp.Metric, Seconds: hp.Seconds}
}

// hparamsFile is the hyperparameter file of a network: hparams.json for
// the searched network (what 'dash retrain' reads), hparams-<label>.json
// for the others.
func hparamsFile(label string) string {
	if label == "dash" {
		return "hparams.json"
	}
	return "hparams-" + label + ".json"
}

// state.json: which stages are complete, for --resume. Stages holds
// "search", "hpo/<network>", "retrain/<network>" and "done".
type runState struct {
	Stages map[string]bool `json:"stages"`
	Done   bool            `json:"done"`
}

func (c *Config) defaults() error {
	if c.Task == nil || c.Split == nil || c.Backend == nil {
		return errors.New("dash: config needs a task, its data and a backend")
	}
	if len(c.Kernels) == 0 {
		c.Kernels = slices.Clone(c.Task.Kernels)
	}
	if len(c.Dilations) == 0 {
		c.Dilations = slices.Clone(c.Task.Dilations)
	}
	for _, k := range c.Kernels {
		if k <= 0 {
			return fmt.Errorf("dash: kernel size %d in --kernels must be positive", k)
		}
	}
	for _, d := range c.Dilations {
		if d <= 0 {
			return fmt.Errorf("dash: dilation %d in --dilations must be positive", d)
		}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Budget.BatchSize == 0 {
		c.Budget.BatchSize = c.Task.BatchSize
	}
	if c.OutDir == "" {
		return errors.New("dash: config needs an output directory")
	}
	if err := c.checkInputs(); err != nil { // validate.go
		return err
	}
	return c.checkFingerprint() // fingerprint.go
}

func (c *Config) path(name string) string { return filepath.Join(c.OutDir, name) }

// Run executes the whole pipeline for one seed: the search, then for every
// network of the run (the searched one, the backbone with its default
// kernels and cfg.Random random architectures from the same search space)
// its own hyperparameter stage and its retraining, all under the same
// budget and protocol; then the controls (rank of the searched network
// among the random ones, the transfer check) and the report. Each stage is
// recorded in state.json as it completes; with Resume the completed ones
// are skipped and an interrupted training continues from its checkpoint.
func Run(ctx context.Context, cfg Config) (*Metrics, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if cfg.Budget.Random < 0 {
		return nil, fmt.Errorf("dash: --random %d must not be negative", cfg.Budget.Random)
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("create run directory: %w", err)
	}
	st := runState{Stages: map[string]bool{}}
	if cfg.Resume {
		if err := ReadJSON(cfg.path("state.json"), &st); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("resume: %w", err)
		}
		if st.Stages == nil {
			st.Stages = map[string]bool{}
		}
	}
	m := &Metrics{Task: cfg.Task.Name, Device: cfg.Backend.Name(), Budget: cfg.Budget.Name, Synthetic: cfg.Task.Synthetic, Seed: cfg.Seed}
	if cfg.Resume {
		_ = ReadJSON(cfg.path("metrics.json"), m) // partial metrics from an earlier run
	}
	// complete records a finished stage: metrics first, then the state
	// that points at them (both written atomically).
	complete := func(stage string) error {
		if err := WriteJSON(cfg.path("metrics.json"), m); err != nil {
			return err
		}
		st.Stages[stage] = true
		return WriteJSON(cfg.path("state.json"), st)
	}

	var arch Architecture
	if st.Stages["search"] {
		if err := ReadJSON(cfg.path("architecture.json"), &arch); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
		cfg.Log.Info("search: resumed from architecture.json")
	} else {
		t0 := time.Now()
		a, err := cfg.search(ctx) // trials.go: here, or on workers
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		arch = *a
		m.SearchSeconds = time.Since(t0).Seconds()
		if err := WriteJSON(cfg.path("architecture.json"), arch); err != nil {
			return nil, err
		}
		if err := WriteAlphaHeatmap(cfg.path("alpha.png"), &arch); err != nil {
			cfg.Log.Warn("alpha plot", "err", err)
		}
		if err := complete("search"); err != nil {
			return nil, err
		}
	}

	nets := runNetworks(&arch, cfg.Budget.Random, cfg.Seed)
	if err := cfg.prefetchHPO(ctx, nets, st.Stages); err != nil { // trials.go: no-op in this process
		return nil, fmt.Errorf("hyperparameter stage: %w", err)
	}
	for _, n := range nets { // every entry first: trainNetwork keeps pointers into m.Networks
		r := m.network(n.label)
		r.Kind = n.kind
		r.Layers = archKD(n.arch, &arch)
	}
	par := cfg.Parallel
	if par <= 0 {
		par = ParallelNetworks(cfg.Backend)
	}
	if cfg.Trials != nil {
		par = 1 // the executor already runs the grids in parallel (prefetchHPO)
	}
	m.NetworksAtOnce = par
	tNets, secsBefore := time.Now(), m.NetworksSeconds
	// done applies a stage's updates to m under mu, with the wall time so far
	var mu sync.Mutex // guards m, st and the files complete writes
	done := func(stage string, update func()) error {
		mu.Lock()
		defer mu.Unlock()
		update()
		m.NetworksSeconds = secsBefore + time.Since(tNets).Seconds()
		return complete(stage)
	}
	stageDone := func(stage string) bool {
		mu.Lock()
		defer mu.Unlock()
		return st.Stages[stage]
	}
	if par <= 1 || len(nets) < 2 {
		for _, n := range nets {
			if err := trainNetwork(ctx, cfg, n, &arch, m, stageDone, done); err != nil {
				return nil, err
			}
		}
	} else {
		cfg.Log.Info("networks: training in parallel", "at_once", par, "networks", len(nets))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(par)
		var out sync.Mutex
		for _, n := range nets {
			c := cfg
			if cfg.Progress != nil {
				c.Progress = &prefixWriter{w: cfg.Progress, mu: &out, prefix: "[" + n.label + "] ", start: true}
			}
			g.Go(func() error { return trainNetwork(gctx, c, n, &arch, m, stageDone, done) })
		}
		if err := g.Wait(); err != nil {
			if ctx.Err() != nil && errors.Is(err, gctx.Err()) {
				return nil, ctx.Err()
			}
			return nil, err
		}
	}
	m.Controls = Controls(m.Networks)
	m.Alpha = alphaSummary(&arch)
	st.Done = true
	if err := complete("done"); err != nil {
		return nil, err
	}
	if err := WriteCurves(cfg.path("curves.png"), m); err != nil {
		cfg.Log.Warn("curves plot", "err", err)
	}
	if err := WriteControlsPlot(cfg.path("controls.png"), m); err != nil {
		cfg.Log.Warn("controls plot", "err", err)
	}
	var hp HParams
	if err := ReadJSON(cfg.path(hparamsFile("dash")), &hp); err != nil {
		return nil, err
	}
	if err := WriteReport(cfg.path("report.md"), &cfg, &arch, &hp, m); err != nil {
		return nil, err
	}
	return m, nil
}

// trainNetwork runs network n's hyperparameter stage, proxy training and
// retraining (each unless stageDone says it is complete) and records them
// in m through done, which serialises the updates and the files.
func trainNetwork(ctx context.Context, cfg Config, n netSpec, arch *Architecture, m *Metrics,
	stageDone func(string) bool, done func(stage string, update func()) error) error {
	r := m.network(n.label) // exists: Run creates every entry first
	hpPath := cfg.path(hparamsFile(n.label))
	var hp HParams
	if stageDone("hpo/" + n.label) {
		if err := ReadJSON(hpPath, &hp); err != nil {
			return fmt.Errorf("resume: %w", err)
		}
	} else {
		t0 := time.Now()
		h, err := hpo(ctx, cfg, n.arch, n.label)
		if err != nil {
			return fmt.Errorf("hyperparameter stage (%s): %w", n.label, err)
		}
		hp = *h
		hp.Seconds = time.Since(t0).Seconds()
		if err := WriteJSON(hpPath, hp); err != nil {
			return err
		}
		px, err := proxyScore(ctx, cfg, n.arch, &hp, n.label)
		if err != nil {
			return fmt.Errorf("proxy training (%s): %w", n.label, err)
		}
		if err := done("hpo/"+n.label, func() {
			r.HParams = hp.chosen()
			r.HPOSeconds = hp.Seconds
			r.Proxy = Float(px)
			if n.label == "dash" {
				m.HPOSeconds = hp.Seconds
			}
		}); err != nil {
			return err
		}
	}
	if stageDone("retrain/" + n.label) {
		return nil
	}
	t0 := time.Now()
	res, err := Retrain(ctx, cfg, n.arch, hp, n.label)
	if err != nil {
		return fmt.Errorf("retrain (%s): %w", n.label, err)
	}
	secs := time.Since(t0).Seconds()
	return done("retrain/"+n.label, func() {
		r.Seconds = secs
		r.Test, r.BestVal, r.Curve = res.Test, res.BestVal, res.Curve
		switch n.label {
		case "dash":
			m.RetrainSeconds, m.Test, m.BestVal, m.Curve = r.Seconds, r.Test, r.BestVal, r.Curve
		case "baseline":
			m.BaselineSeconds, m.Baseline, m.BaselineBestVal, m.BaselineCurve = r.Seconds, r.Test, r.BestVal, r.Curve
		}
	})
}

// prefixWriter starts every line written through it with prefix, so that
// the progress lines of networks trained at once say which is which; the
// shared mutex keeps each write whole.
type prefixWriter struct {
	w      io.Writer
	mu     *sync.Mutex
	prefix string
	start  bool // the next byte starts a line
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	n := len(b)
	var buf []byte
	for len(b) > 0 {
		if p.start {
			buf = append(buf, p.prefix...)
			p.start = false
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			buf = append(buf, b...)
			break
		}
		buf = append(buf, b[:i+1]...)
		b = b[i+1:]
		p.start = true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.w.Write(buf); err != nil {
		return 0, err
	}
	return n, nil
}
