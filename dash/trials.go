package dash

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Trial is one independent training of a run: the search, one
// configuration of a network's hyperparameter grid, a proxy training or a
// retraining. It holds everything besides the data that a process needs to
// train it, so that it can run elsewhere (package dist) with the same
// result, bit for bit on the same backend.
type Trial struct {
	// Stage is "search", "hpo", "proxy" or "retrain".
	Stage string `json:"stage"`
	// Network is the network's label ("dash", "baseline", "random-1"..);
	// empty for the search.
	Network string `json:"network,omitempty"`
	// Arch is the discrete network's architecture (nil: default kernels).
	Arch *Architecture `json:"arch,omitempty"`
	// HP are the hyperparameters of a training (not the search).
	HP       HParams `json:"hp"`
	Epochs   int     `json:"epochs"`
	Fraction float64 `json:"fraction"`
	WithTest bool    `json:"with_test"`
	// Label is fit's label: "dash" saves weights.safetensors.
	Label string `json:"label"`

	Budget    Budget        `json:"budget"`
	Seed      uint64        `json:"seed"`
	Kernels   []int         `json:"kernels"`
	Dilations []int         `json:"dilations"`
	Search    SearchOptions `json:"search"`
	// Data is the SHA-256 of the splits the coordinator trains on; a
	// worker refuses a trial when its own data differs.
	Data string `json:"data_sha256"`
}

// TrialResult is the outcome of a Trial.
type TrialResult struct {
	Arch    *Architecture // the search's result
	Test    EvalResult
	BestVal float64
	Curve   []EpochStat
	// Files are files the trial wrote into its directory that belong in
	// the run directory (weights.safetensors of the searched network).
	Files []string
}

// Executor runs trials somewhere else than in this process (package dist:
// on workers through NATS JetStream). Config.Trials nil runs them here.
type Executor interface {
	// Prefetch announces trials the run will need soon, so that they can
	// start early and in parallel; results are collected with Run.
	Prefetch(ctx context.Context, cfg Config, ts []*Trial) error
	// Run runs one trial (or collects its result) and writes the files the
	// result names into cfg.OutDir.
	Run(ctx context.Context, cfg Config, t *Trial) (*TrialResult, error)
}

// newTrial fills the run-wide fields of a trial from cfg (after defaults).
func newTrial(cfg Config, stage, network string) *Trial {
	return &Trial{Stage: stage, Network: network, Budget: cfg.Budget, Seed: cfg.Seed,
		Kernels: slices.Clone(cfg.Kernels), Dilations: slices.Clone(cfg.Dilations), Search: cfg.Search,
		Data: hashSplit(cfg.Split)}
}

// fitTrial describes fit(ctx, cfg, stage, arch, hp, epochs, fraction, withTest, label, …) as a trial.
func fitTrial(cfg Config, stage, network string, arch *Architecture, hp HParams, epochs int, fraction float64, withTest bool, label string) *Trial {
	t := newTrial(cfg, stage, network)
	t.Arch, t.HP, t.Epochs, t.Fraction, t.WithTest, t.Label = arch, hp.chosen(), epochs, fraction, withTest, label
	t.HP.Seconds = 0
	return t
}

// search runs the search stage in this process or through cfg.Trials.
func (c *Config) search(ctx context.Context) (*Architecture, error) {
	if c.Trials == nil {
		return Search(ctx, *c)
	}
	if err := c.defaults(); err != nil {
		return nil, err
	}
	r, err := c.Trials.Run(ctx, *c, newTrial(*c, "search", ""))
	if err != nil {
		return nil, err
	}
	if r.Arch == nil {
		return nil, errors.New("search trial returned no architecture")
	}
	return r.Arch, nil
}

// runFit is fit for the trial (stage, network), in this process or
// through cfg.Trials.
func runFit(ctx context.Context, cfg Config, stage, network string, arch *Architecture, hp HParams, epochs int, fraction float64, withTest bool, label, ckpt string) (*trainResult, error) {
	if cfg.Trials == nil {
		return fit(ctx, cfg, stage, arch, hp, epochs, fraction, withTest, label, ckpt)
	}
	r, err := cfg.Trials.Run(ctx, cfg, fitTrial(cfg, stage, network, arch, hp, epochs, fraction, withTest, label))
	if err != nil {
		return nil, err
	}
	if withTest && label == "dash" {
		if err := WriteModelSpec(cfg); err != nil {
			return nil, err
		}
	}
	return &trainResult{Test: r.Test, BestVal: r.BestVal, Curve: r.Curve}, nil
}

// prefetchHPO announces the hyperparameter grids of every network whose
// stage is not done yet to cfg.Trials, so that they run in parallel. The
// grids are announced whole: the learning-rate early stop of hpo is
// applied to the results in order, so the chosen configuration and the
// trial list are those of a local run.
func (c *Config) prefetchHPO(ctx context.Context, nets []netSpec, done map[string]bool) error {
	if c.Trials == nil {
		return nil
	}
	b := c.Budget
	var ts []*Trial
	for _, n := range nets {
		if done["hpo/"+n.label] {
			continue
		}
		for _, lr := range b.LRs {
			for _, dr := range b.Dropouts {
				for _, wd := range b.WeightDecays {
					for _, mo := range b.Momentums {
						hp := HParams{LR: lr, Dropout: dr, WeightDecay: wd, Momentum: mo}
						ts = append(ts, fitTrial(*c, "hpo", n.label, n.arch, hp, b.HPOEpochs, b.HPOFraction, false, "hpo"))
					}
				}
			}
		}
	}
	return c.Trials.Prefetch(ctx, *c, ts)
}

// RunTrial runs a trial in this process, in cfg.OutDir (a directory of the
// trial's own: it holds the trial's checkpoint, trial.ckpt, and for the
// search search.ckpt and alpha_history.json, from which a trial started
// again continues). cfg supplies the task, its data and the backend; the
// rest comes from the trial. The data must be the coordinator's.
func RunTrial(ctx context.Context, cfg Config, t *Trial) (*TrialResult, error) {
	cfg.Budget, cfg.Seed, cfg.Search = t.Budget, t.Seed, t.Search
	cfg.Kernels, cfg.Dilations = slices.Clone(t.Kernels), slices.Clone(t.Dilations)
	cfg.Resume = true
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if h := hashSplit(cfg.Split); h != t.Data {
		return nil, fmt.Errorf("trial data differs from the coordinator's (SHA-256 %.12s here, %.12s there): same task, seed and data file needed", h, t.Data)
	}
	switch t.Stage {
	case "search":
		a, err := Search(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return &TrialResult{Arch: a}, nil
	case "hpo", "proxy", "retrain":
		r, err := fit(ctx, cfg, t.Stage, t.Arch, t.HP, t.Epochs, t.Fraction, t.WithTest, t.Label, "trial.ckpt")
		if err != nil {
			return nil, err
		}
		res := &TrialResult{Test: r.Test, BestVal: r.BestVal, Curve: r.Curve}
		if t.WithTest && t.Label == "dash" {
			res.Files = []string{"weights.safetensors"}
		}
		return res, nil
	}
	return nil, fmt.Errorf("unknown trial stage %q", t.Stage)
}

// TrialCheckpoints are the files of a trial's directory that let it
// continue after its process died, in the order they are written.
var TrialCheckpoints = []string{"alpha_history.json", "search.ckpt", "trial.ckpt"}

// prefetchSearches announces the searches of seeds cfg.Seed …
// cfg.Seed+n-1 (RunSeeds) to cfg.Trials, so that they run in parallel
// while the first seed's networks are trained.
func (c *Config) prefetchSearches(ctx context.Context, n int) error {
	if c.Trials == nil || n < 2 {
		return nil
	}
	var ts []*Trial
	for i := 0; i < n; i++ {
		s := *c
		s.Seed = c.Seed + uint64(i)
		ts = append(ts, newTrial(s, "search", ""))
	}
	return c.Trials.Prefetch(ctx, *c, ts)
}
