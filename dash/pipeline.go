package dash

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/tensor"
)

// Budget sets how much work each stage does.
type Budget struct {
	Name string `json:"name"`
	// TrainLimit caps the training samples (0 = all); Width overrides the
	// retrained backbone's width (WRN k, ResNet1D m; 0 = task default);
	// SearchWidth likewise for the searched network.
	TrainLimit  int `json:"train_limit"`
	Width       int `json:"width"`
	SearchWidth int `json:"search_width"`
	BatchSize   int `json:"batch_size"` // 0 = task default

	SearchEpochs   int     `json:"search_epochs"`
	SearchFraction float64 `json:"search_fraction"` // share of training batches per search epoch

	HPOEpochs    int       `json:"hpo_epochs"`
	HPOFraction  float64   `json:"hpo_fraction"`
	LRs          []float32 `json:"lrs"`
	Dropouts     []float32 `json:"dropouts"`
	WeightDecays []float32 `json:"weight_decays"`
	Momentums    []float32 `json:"momentums"`

	RetrainEpochs int     `json:"retrain_epochs"`
	Milestones    []int   `json:"milestones"` // epochs where the LR is multiplied by Gamma
	Gamma         float32 `json:"gamma"`
}

// Budgets returns the named budget for a task: "demo" (minutes on two CPU
// cores) or "paper" (the reference's epochs and grids).
func Budgets(name string, task *datasets.Task) (Budget, error) {
	switch name {
	case "demo":
		b := Budget{Name: "demo", TrainLimit: 20000, Width: 8, SearchWidth: 8, BatchSize: 128,
			SearchEpochs: 2, SearchFraction: 0.25,
			HPOEpochs: 1, HPOFraction: 0.25,
			LRs: []float32{0.1, 0.01}, Dropouts: []float32{0}, WeightDecays: []float32{5e-4}, Momentums: []float32{0.9},
			RetrainEpochs: 4, Milestones: []int{3}, Gamma: 0.2}
		if task.Dims == 2 {
			b.TrainLimit, b.Width, b.SearchWidth, b.BatchSize = 5000, 1, 1, 32
			if task.Kind == datasets.DenseField {
				b.TrainLimit, b.BatchSize = 200, 10
				b.LRs = []float32{0.01, 0.001}
			}
		}
		return b, nil
	case "smoke":
		// a seconds-long run for end-to-end tests
		return Budget{Name: "smoke", TrainLimit: 256, Width: 2, SearchWidth: 2, BatchSize: 32,
			SearchEpochs: 1, SearchFraction: 0.5, HPOEpochs: 1, HPOFraction: 0.5,
			LRs: []float32{0.1, 0.01}, Dropouts: []float32{0}, WeightDecays: []float32{5e-4}, Momentums: []float32{0.9},
			RetrainEpochs: 1, Gamma: 0.2}, nil
	case "paper":
		b := Budget{Name: "paper", SearchEpochs: 100, SearchFraction: 0.2,
			HPOEpochs: 20, HPOFraction: 0.2,
			LRs: []float32{0.1, 0.01, 0.001}, Dropouts: []float32{0, 0.05}, WeightDecays: []float32{5e-4, 5e-6}, Momentums: []float32{0.9, 0.99},
			RetrainEpochs: 200, Gamma: 0.2}
		if task.Dims == 2 {
			b.Milestones = []int{60, 120, 160}
			b.Width, b.SearchWidth = 4, 1
		} else {
			b.Milestones = []int{30, 60, 90, 120, 160}
		}
		return b, nil
	}
	return Budget{}, fmt.Errorf("unknown budget %q (want demo, paper or smoke)", name)
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
}

// Architecture is the search stage's result.
type Architecture struct {
	Task      string        `json:"task"`
	Kernels   []int         `json:"kernels"`
	Dilations []int         `json:"dilations"`
	Layers    []LayerChoice `json:"layers"`
	// History[e][l] is layer l's softmax(α) after search epoch e.
	History [][][]float32 `json:"alpha_history"`
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
	LR, Dropout, WeightDecay, Momentum float32
	Val                                float64
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
}

// state.json: which stages are complete, for --resume.
type runState struct {
	SearchDone  bool `json:"search_done"`
	HPODone     bool `json:"hpo_done"`
	RetrainDone bool `json:"retrain_done"`
	Done        bool `json:"done"`
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
	return nil
}

func (c *Config) path(name string) string { return filepath.Join(c.OutDir, name) }

// Run executes the whole pipeline: search, hyperparameter stage, retraining
// and the default-kernel baseline, writing the run directory as it goes.
// With Resume it skips the stages already completed in OutDir.
func Run(ctx context.Context, cfg Config) (*Metrics, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("create run directory: %w", err)
	}
	var st runState
	if cfg.Resume {
		if err := ReadJSON(cfg.path("state.json"), &st); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("resume: %w", err)
		}
	}
	saveState := func() error { return WriteJSON(cfg.path("state.json"), st) }
	m := &Metrics{Task: cfg.Task.Name, Device: cfg.Backend.Name(), Budget: cfg.Budget.Name, Synthetic: cfg.Task.Synthetic}
	if cfg.Resume {
		_ = ReadJSON(cfg.path("metrics.json"), m) // partial metrics from an earlier run
	}

	var arch Architecture
	if st.SearchDone {
		if err := ReadJSON(cfg.path("architecture.json"), &arch); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
		cfg.Log.Info("search: resumed from architecture.json")
	} else {
		t0 := time.Now()
		a, err := Search(ctx, cfg)
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
		st.SearchDone = true
		if err := WriteJSON(cfg.path("metrics.json"), m); err != nil {
			return nil, err
		}
		if err := saveState(); err != nil {
			return nil, err
		}
	}

	var hp HParams
	if st.HPODone {
		if err := ReadJSON(cfg.path("hparams.json"), &hp); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
	} else {
		t0 := time.Now()
		h, err := HPO(ctx, cfg, &arch)
		if err != nil {
			return nil, fmt.Errorf("hyperparameter stage: %w", err)
		}
		hp = *h
		hp.Seconds = time.Since(t0).Seconds()
		m.HPOSeconds = hp.Seconds
		if err := WriteJSON(cfg.path("hparams.json"), hp); err != nil {
			return nil, err
		}
		st.HPODone = true
		if err := WriteJSON(cfg.path("metrics.json"), m); err != nil {
			return nil, err
		}
		if err := saveState(); err != nil {
			return nil, err
		}
	}

	if !st.RetrainDone {
		t0 := time.Now()
		r, err := Retrain(ctx, cfg, &arch, hp, "dash")
		if err != nil {
			return nil, fmt.Errorf("retrain: %w", err)
		}
		m.RetrainSeconds = time.Since(t0).Seconds()
		m.Test, m.BestVal, m.Curve = r.Test, r.BestVal, r.Curve
		st.RetrainDone = true
		if err := WriteJSON(cfg.path("metrics.json"), m); err != nil {
			return nil, err
		}
		if err := saveState(); err != nil {
			return nil, err
		}
	}
	if !st.Done {
		t0 := time.Now()
		r, err := Retrain(ctx, cfg, nil, hp, "baseline")
		if err != nil {
			return nil, fmt.Errorf("baseline: %w", err)
		}
		m.BaselineSeconds = time.Since(t0).Seconds()
		m.Baseline, m.BaselineBestVal, m.BaselineCurve = r.Test, r.BestVal, r.Curve
		st.Done = true
		if err := WriteJSON(cfg.path("metrics.json"), m); err != nil {
			return nil, err
		}
		if err := saveState(); err != nil {
			return nil, err
		}
	}
	if err := WriteCurves(cfg.path("curves.png"), m); err != nil {
		cfg.Log.Warn("curves plot", "err", err)
	}
	if err := WriteReport(cfg.path("report.md"), &cfg, &arch, &hp, m); err != nil {
		return nil, err
	}
	return m, nil
}
