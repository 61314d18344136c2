package dash

import (
	"context"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/nn"
	"github.com/dash-go/dash/nn/optim"
	"github.com/dash-go/dash/nn/train"
	"github.com/dash-go/dash/tensor"
)

// Buffers exposes α as a state buffer so that checkpoints (nn/train) save
// and restore it with the network.
func (a *AggConv) Buffers() []*autograd.Var { return a.ArchParams() }

// Counters exposes the Gumbel-noise step counter to checkpoints.
func (a *AggConv) Counters() map[string]*uint64 {
	return map[string]*uint64{a.cfg.Name + ".step": &a.step}
}

// buildBackbone builds the task's backbone with the given width (0: the
// task default), conv factory and dropout.
func buildBackbone(cfg Config, width int, factory nn.ConvFactory, dropout float64) (nn.Backbone, error) {
	bc, err := nn.ConfigForTask(cfg.Task)
	if err != nil {
		return nil, err
	}
	bc.Width, bc.Seed, bc.Backend, bc.Factory, bc.Dropout = width, cfg.Seed, cfg.Backend, factory, dropout
	return nn.Build(bc)
}

// trainSplit returns the training split limited to Budget.TrainLimit
// samples, with validation (and test when withTest) attached.
func (c *Config) trainSplit(withVal, withTest bool) *datasets.Split {
	tr := c.Split.Train
	if c.Budget.TrainLimit > 0 && tr.N > c.Budget.TrainLimit {
		idx := make([]int, c.Budget.TrainLimit)
		for i := range idx {
			idx[i] = i
		}
		tr = tr.Subset(idx)
	}
	s := &datasets.Split{Train: tr, Norm: c.Split.Norm}
	if withVal {
		s.Val = c.Split.Val
		if v := c.Split.Val; v != nil && c.Budget.ValLimit > 0 && v.N > c.Budget.ValLimit {
			idx := make([]int, c.Budget.ValLimit)
			for i := range idx {
				idx[i] = i
			}
			s.Val = v.Subset(idx)
		}
	}
	if withTest {
		s.Test = c.Split.Test
	}
	return s
}

func defaultLR(task *datasets.Task) (w, a float32) {
	if task.Kind == datasets.DenseField {
		return 0.01, 5e-3
	}
	return 0.1, 0.05
}

// gradScale is the α-gradient normalisation of the reference (100 by
// default; the reference uses other values only for NAS-Bench-360 tasks we
// do not ship).
func gradScale(*datasets.Task) float32 { return 100 }

// Search runs DASH's architecture search: every searchable convolution of
// the backbone becomes an aggregated convolution over Kernels × Dilations
// (Fourier strategy, depthwise where in == out channels), weights and α are
// trained jointly from the same batches on a prefix of each epoch, α's
// gradient is rescaled to a fixed norm plus a receptive-field penalty, all
// gradients are clipped to norm 1, and each layer keeps argmax α. With
// cfg.Resume it continues from the last completed search epoch.
func Search(ctx context.Context, cfg Config) (*Architecture, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	be := cfg.Backend
	split := cfg.trainSplit(false, false)
	spe := searchStepsPerEpoch(split.Train.N, cfg.Budget)
	ao, err := ScaleAlpha(cfg.Task, spe*cfg.Budget.SearchEpochs, cfg.Search)
	if err != nil {
		return nil, err
	}
	cfg.Log.Info("search: α schedule", "steps", ao.TotalSteps, "warmup_steps", ao.WarmupSteps, "alpha_lr", fmt32(ao.LR),
		"scale", strconv.FormatFloat(ao.Scale, 'g', 4, 64), "penalty", fmt32(ao.Penalty), "penalty_on", ao.PenaltyOn,
		"optimizer", ao.Optimizer, "tap_lr", ao.TapLR, "clip", ao.Clip)
	mixing := GumbelSoftmax
	if cfg.Search.Softmax {
		mixing = Softmax
	}
	init := InitNormal
	if cfg.Search.KaimingInit {
		init = InitKaimingUniform
	}
	var aggs []*AggConv
	factory := func(spec nn.ConvSpec) (nn.Layer, error) {
		// in == out convs are searched depthwise (the reference's
		// `separable`), and so are depthwise convs (ConvNeXt's 7×7)
		g := max(spec.Groups, 1)
		depthwise := spec.In == spec.Out && (g == 1 || g == spec.In)
		if g != 1 && !depthwise {
			return nil, fmt.Errorf("searchable conv %s: %d groups: the search takes ordinary and depthwise convolutions only", spec.Name, g)
		}
		ac, err := NewAggConv(AggConvConfig{
			Name: spec.Name, Dims: spec.Dims, In: spec.In, Out: spec.Out,
			Kernels: cfg.Kernels, Dilations: cfg.Dilations, Stride: spec.Stride,
			Depthwise: depthwise, Strategy: Fourier, Mixing: mixing, Init: init,
			Seed: nn.DeriveSeed(cfg.Seed, spec.Name), Backend: be,
		})
		if err != nil {
			return nil, fmt.Errorf("searchable conv %s: %w", spec.Name, err)
		}
		aggs = append(aggs, ac)
		return ac, nil
	}
	model, err := buildBackbone(cfg, cfg.Budget.SearchWidth, factory, 0)
	if err != nil {
		return nil, err
	}
	defer nn.Release(model)
	specs := model.SearchableConvs()
	if len(aggs) == 0 || len(specs) != len(aggs) {
		return nil, fmt.Errorf("backbone %q: %d searchable convolutions", cfg.Task.Backbone, len(aggs))
	}
	wlr, _ := defaultLR(cfg.Task)
	var alphas []*autograd.Var
	for _, a := range aggs {
		alphas = append(alphas, a.ArchParams()...)
	}
	wopt, aopt, err := searchOptimizers(cfg, ao, wlr, model.Params(), alphas, aggs)
	if err != nil {
		return nil, err
	}
	defer wopt.Release()
	defer aopt.Release()

	// receptive-field penalty vectors, one per layer, in α's order
	pen := make([]*tensor.Tensor, len(aggs))
	for i, a := range aggs {
		var v []float32
		for _, c := range a.Candidates() {
			v = append(v, ao.penaltyOf(c))
		}
		pen[i] = tensor.FromFloat32(be, v, len(v))
	}
	defer func() {
		for _, p := range pen {
			p.Release()
		}
	}()
	gs := ao.GradScale
	rescale := func(int) { rescaleAlphaGrads(alphas, pen, gs) }
	lossFn, releaseLoss, err := cfg.trainLoss() // loss.go: Darcy's de-normalised summed loss
	if err != nil {
		return nil, err
	}
	defer releaseLoss()
	arch := &Architecture{Task: cfg.Task.Name, Kernels: cfg.Kernels, Dilations: cfg.Dilations, AlphaOpt: ao, Seed: cfg.Seed}
	histPath := cfg.path("alpha_history.json")
	if cfg.Resume {
		_ = ReadJSON(histPath, &arch.History)
	}
	_, err = train.Fit(ctx, train.Config{
		Model: model, Backend: be, Split: split, Task: cfg.Task, LossFunc: lossFn,
		Epochs: cfg.Budget.SearchEpochs, BatchSize: cfg.Budget.BatchSize, Fraction: cfg.Budget.SearchFraction,
		DropLast: true, Seed: int64(cfg.Seed),
		Optimizers: []optim.Optimizer{wopt, aopt}, Schedules: []optim.Schedule{ao.WeightsSchedule(spe), ao.Schedule(spe)},
		ClipNorm: 1, ClipExclude: clipExclude(ao, alphas), AfterBackward: rescale,
		NoRestoreBest: true,
		OnEpochEnd: func(s train.EpochStats) error {
			var h [][]float32
			for _, a := range aggs {
				h = append(h, a.Alpha())
			}
			arch.History = append(arch.History[:min(len(arch.History), s.Epoch-1)], h)
			return WriteJSON(histPath, arch.History)
		},
		CheckpointPath: cfg.path("search.ckpt"), Resume: cfg.Resume,
		Progress: cfg.Progress,
	})
	if err != nil {
		return nil, err
	}
	var cands [][2]int
	for _, c := range aggs[0].Candidates() {
		cands = append(cands, [2]int{c.K, c.D})
	}
	for i, a := range aggs {
		k, d := a.Best()
		arch.Layers = append(arch.Layers, LayerChoice{Name: specs[i].Name, Kernel: k, Dilation: d,
			Default: [2]int{specs[i].Kernel, specs[i].Dilation}, Alpha: a.Alpha(), Candidates: cands,
			Concentration: Concentrate(a.Alpha())})
	}
	return arch, nil
}

// clipExclude is what the search leaves out of its gradient clipping: α
// with AlphaOpt.Clip "weights", nothing with "joint".
func clipExclude(ao AlphaOpt, alphas []*autograd.Var) []*autograd.Var {
	if ao.Clip == "weights" {
		return alphas
	}
	return nil
}

// releaser is an optimiser that holds device state.
type releaser interface {
	optim.Optimizer
	Release()
}

// searchOptimizers builds the search's optimisers of the weights and of α
// as ao says: SGD (momentum 0.9, Nesterov; the candidate kernels grouped
// by searchWeightGroups) or Adam (the reference's TCN settings; one group:
// Adam's step does not grow with a kernel's gradient, so the tap rule
// does not apply).
func searchOptimizers(cfg Config, ao AlphaOpt, wlr float32, params, alphas []*autograd.Var, aggs []*AggConv) (w, a releaser, err error) {
	switch ao.Optimizer {
	case "adam":
		wo, err := optim.NewAdam(&optim.AdamGroup{Params: params, LR: wlr, WeightDecay: ao.WeightsDecay})
		if err != nil {
			return nil, nil, err
		}
		ao2, err := optim.NewAdam(&optim.AdamGroup{Params: alphas, LR: ao.LR, WeightDecay: ao.WeightDecay})
		if err != nil {
			wo.Release()
			return nil, nil, err
		}
		return wo, ao2, nil
	case "sgd", "":
		groups, err := searchWeightGroups(cfg, ao.TapLR, params, aggs, tensor.SGDParams{LR: wlr, Momentum: 0.9, Nesterov: true, WeightDecay: ao.WeightsDecay})
		if err != nil {
			return nil, nil, err
		}
		wo, err := optim.NewSGD(groups...)
		if err != nil {
			return nil, nil, err
		}
		ao2, err := optim.NewSGD(&optim.SGDGroup{Params: alphas, SGDParams: tensor.SGDParams{LR: ao.LR, Momentum: 0.9, Nesterov: true, WeightDecay: ao.WeightDecay}})
		if err != nil {
			wo.Release()
			return nil, nil, err
		}
		return wo, ao2, nil
	}
	return nil, nil, fmt.Errorf("dash: unknown search optimiser %q", ao.Optimizer)
}

// searchWeightGroups splits the search's weights into SGD groups: the
// candidate kernels of size k at the learning rate times tapLRFactor
// (rule: AlphaOpt.TapLR), everything else at the base settings. With the
// "shared" rule it is one group, as the reference.
//
// Why "equal" exists: in the single-level search the gradient of α_i is
// the inner product of candidate i's kernel with the loss gradient on its
// taps. Under one shared learning rate, what a kernel has learned, and so
// that inner product, grows with its number of taps k^dims: α then rewards
// size, not usefulness. On mnist-2d (K {3,5,7} × D {1,2,4}) the search
// picked k = 7 in 12 of 13 layers while the dilations varied.
// Scaling each kernel's learning rate by (k_min/k)^dims makes every
// candidate move the layer's output equally fast per step (a fan-in
// scaled parametrisation), so α compares what the candidates learn. It
// does remove the bias (k = 7 in 6 of 13 layers), but that network
// retrained worse (5.63% vs 3.42% test error, seed 0), so it is not the
// default (DefaultTapLR).
func searchWeightGroups(cfg Config, rule string, params []*autograd.Var, aggs []*AggConv, base tensor.SGDParams) ([]*optim.SGDGroup, error) {
	if rule != "equal" || len(aggs) == 0 {
		return []*optim.SGDGroup{{Params: params, SGDParams: base}}, nil
	}
	dims := aggs[0].Config().Dims
	kmin := slices.Min(cfg.Kernels)
	inAgg := map[*autograd.Var]bool{}
	byK := map[int][]*autograd.Var{}
	for _, a := range aggs {
		ac := a.Config()
		for ki, w := range a.Params() {
			byK[ac.Kernels[ki]] = append(byK[ac.Kernels[ki]], w)
			inAgg[w] = true
		}
	}
	var rest []*autograd.Var
	for _, p := range params {
		if !inAgg[p] {
			rest = append(rest, p)
		}
	}
	groups := []*optim.SGDGroup{{Params: rest, SGDParams: base}}
	ks := slices.Sorted(maps.Keys(byK))
	for _, k := range ks {
		g := base
		g.LR = base.LR * tapLRFactor(rule, k, kmin, dims)
		groups = append(groups, &optim.SGDGroup{Params: byK[k], SGDParams: g})
	}
	return groups, nil
}

// searchStepsPerEpoch is the number of training steps of one search epoch
// over n samples (incomplete batches dropped, Budget.SearchFraction of the
// batches), as nn/train counts them.
func searchStepsPerEpoch(n int, b Budget) int {
	nb := n / max(b.BatchSize, 1)
	if f := b.SearchFraction; f > 0 && f < 1 {
		nb = max(1, int(math.Ceil(float64(nb)*f)))
	}
	return nb
}

// f32 formats a float32 with the shortest decimal that round-trips as a
// float32 (0.1, not 0.10000000149011612).
func fmt32(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }

// discreteFactory builds ordinary convolutions with the searched (k, d) per
// layer name (nil arch: the backbone's defaults).
func discreteFactory(arch *Architecture) nn.ConvFactory {
	choice := map[string]LayerChoice{}
	if arch != nil {
		for _, l := range arch.Layers {
			choice[l.Name] = l
		}
	}
	return func(spec nn.ConvSpec) (nn.Layer, error) {
		if c, ok := choice[spec.Name]; ok {
			spec.Kernel, spec.Dilation = c.Kernel, c.Dilation
		}
		return nn.NewConv(spec)
	}
}

// buildDiscrete builds the discrete network of arch (nil: default kernels)
// for the hyperparameter stage, retraining and evaluation: the task's
// backbone, or Budget.RetrainBackbone when set (e.g. "resnet1d-causal", the
// reference's retraining network for 1-D tasks).
func buildDiscrete(cfg Config, width int, arch *Architecture, dropout float64) (nn.Backbone, error) {
	if rb := cfg.Budget.RetrainBackbone; rb != "" {
		t := *cfg.Task
		t.Backbone = rb
		cfg.Task = &t
	}
	return buildBackbone(cfg, width, discreteFactory(arch), dropout)
}

// trainResult is the outcome of training a discrete network.
type trainResult struct {
	Test    EvalResult
	BestVal float64
	Curve   []EpochStat
}

// fit trains a discrete network with the given hyperparameters through
// nn/train: validation after every epoch, best weights kept (selection on
// validation only), then the test split scored with them when withTest.
// stage ("hpo", "proxy" or "retrain") picks the learning-rate schedule
// (Budget.lrSchedule).
func fit(ctx context.Context, cfg Config, stage string, arch *Architecture, hp HParams, epochs int, fraction float64, withTest bool, label, ckpt string) (*trainResult, error) {
	model, err := buildDiscrete(cfg, cfg.Budget.Width, arch, float64(hp.Dropout))
	if err != nil {
		return nil, err
	}
	defer nn.Release(model)
	if err := checkNetwork(&cfg, arch, &hp, model); err != nil { // validate.go
		return nil, err
	}
	opt, err := optim.NewSGD(&optim.SGDGroup{Params: model.Params(), SGDParams: tensor.SGDParams{LR: hp.LR, Momentum: hp.Momentum, Nesterov: hp.Momentum > 0, WeightDecay: hp.WeightDecay}})
	if err != nil {
		return nil, err
	}
	defer opt.Release()
	sched, err := cfg.Budget.lrSchedule(stage, epochs)
	if err != nil {
		return nil, err
	}
	lossFn, releaseLoss, err := cfg.trainLoss() // loss.go: Darcy's de-normalised summed loss
	if err != nil {
		return nil, err
	}
	defer releaseLoss()
	tc := train.Config{
		Model: model, Backend: cfg.Backend, Split: cfg.trainSplit(true, withTest), Task: cfg.Task, LossFunc: lossFn,
		Epochs: epochs, BatchSize: cfg.Budget.BatchSize, Fraction: fraction, DropLast: true, Seed: int64(cfg.Seed) + 1,
		Optimizers: []optim.Optimizer{opt}, Schedules: sched,
		Progress: cfg.Progress,
	}
	if ckpt != "" {
		tc.CheckpointPath, tc.Resume = cfg.path(ckpt), cfg.Resume
	}
	r, err := train.Fit(ctx, tc)
	if err != nil {
		return nil, err
	}
	res := &trainResult{BestVal: r.BestVal.Score}
	if r.BestEpoch == 0 {
		res.BestVal = math.Inf(1)
	}
	for _, e := range r.Epochs {
		res.Curve = append(res.Curve, EpochStat{Epoch: e.Epoch, Loss: e.TrainLoss, Val: e.Val.Score, Seconds: e.Seconds})
	}
	if withTest {
		res.Test = EvalResult{Metric: r.Test.Name, Value: r.Test.Value, Score: r.Test.Score, Loss: r.TestLoss, N: r.Test.N}
		if label == "dash" {
			if err := nn.SaveCheckpoint(cfg.path("weights.safetensors"), model, nil, map[string]string{"task": cfg.Task.Name, "architecture": "architecture.json"}); err != nil {
				return nil, err
			}
			if err := WriteModelSpec(cfg); err != nil { // model.go: what dash.Load needs besides the weights
				return nil, err
			}
		}
	}
	return res, nil
}

// HPO searches the hyperparameter grid on the discrete architecture: each
// configuration trains briefly from the same initial weights (same seed)
// and is scored on the validation split (never the test split). Learning
// rates are tried in the given order; when a learning rate brings no
// improvement over the best so far, the remaining ones are skipped.
func HPO(ctx context.Context, cfg Config, arch *Architecture) (*HParams, error) {
	return hpo(ctx, cfg, arch, "dash")
}

// hpo is HPO for the network called label. Every network of a run (the
// searched one, the baseline, the random architectures) goes through it
// with the same grid, epochs, fraction, width and initial-weight seed.
func hpo(ctx context.Context, cfg Config, arch *Architecture, label string) (*HParams, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	b := cfg.Budget
	hp := &HParams{Budget: b, Metric: cfg.Task.Metric}
	best := math.Inf(1)
	for _, lr := range b.LRs {
		improved := false
		for _, dr := range b.Dropouts {
			for _, wd := range b.WeightDecays {
				for _, mo := range b.Momentums {
					c := HParams{LR: lr, Dropout: dr, WeightDecay: wd, Momentum: mo}
					r, err := runFit(ctx, cfg, "hpo", label, arch, c, b.HPOEpochs, b.HPOFraction, false, "hpo", "")
					if err != nil {
						return nil, err
					}
					v := r.BestVal
					if math.IsNaN(v) {
						v = math.Inf(1)
					}
					hp.Trials = append(hp.Trials, HPOTrial{LR: lr, Dropout: dr, WeightDecay: wd, Momentum: mo, Val: v})
					cfg.Log.Info("hpo trial", "network", label, "lr", fmt32(lr), "dropout", fmt32(dr), "weight_decay", fmt32(wd), "momentum", fmt32(mo), "val", strconv.FormatFloat(v, 'g', 4, 64))
					if v < best {
						best = v
						hp.LR, hp.Dropout, hp.WeightDecay, hp.Momentum = lr, dr, wd, mo
						improved = true
					}
				}
			}
		}
		if !improved {
			break
		}
	}
	if math.IsInf(best, 1) {
		return nil, fmt.Errorf("every configuration diverged or the validation split is empty")
	}
	return hp, nil
}

// Retrain trains the discrete network (arch nil: the backbone's default
// kernels) with the chosen hyperparameters for the retraining budget and
// reports the test metric of the weights that were best on validation.
// With cfg.Resume it continues from the stage's last completed epoch.
func Retrain(ctx context.Context, cfg Config, arch *Architecture, hp HParams, label string) (*trainResult, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	return runFit(ctx, cfg, "retrain", label, arch, hp, cfg.Budget.RetrainEpochs, 1, true, label, label+".ckpt")
}

// Evaluate scores a run's saved weights on the test split.
func Evaluate(ctx context.Context, cfg Config, arch *Architecture, hp HParams, weights string) (EvalResult, error) {
	if err := cfg.defaults(); err != nil {
		return EvalResult{}, err
	}
	if _, err := os.Stat(weights); err != nil {
		return EvalResult{}, fmt.Errorf("weights: %w", err)
	}
	model, err := buildDiscrete(cfg, cfg.Budget.Width, arch, float64(hp.Dropout))
	if err != nil {
		return EvalResult{}, err
	}
	defer nn.Release(model)
	if err := checkNetwork(&cfg, arch, &hp, model); err != nil { // validate.go
		return EvalResult{}, err
	}
	if _, err := nn.LoadCheckpoint(weights, model, nil); err != nil {
		return EvalResult{}, err
	}
	e, err := train.Evaluate(ctx, cfg.Backend, model, cfg.Split.Test, cfg.Task.Loss, cfg.Task.Metric, float32(cfg.Task.PosWeight), cfg.Split.Norm, cfg.Budget.BatchSize)
	if err != nil {
		return EvalResult{}, err
	}
	return EvalResult{Metric: e.Metric.Name, Value: e.Metric.Value, Score: e.Metric.Score, Loss: e.Loss, N: e.Metric.N}, nil
}

// EvalResult is a model's score on one split.
type EvalResult struct {
	Metric string  `json:"metric"` // e.g. "error", "relative_l2"
	Value  float64 `json:"value"`  // as usually reported
	Score  float64 `json:"score"`  // lower is better
	Loss   float64 `json:"loss"`
	N      int     `json:"n"`
}

// EpochStat summarises one training epoch for metrics.json and the plots.
type EpochStat struct {
	Epoch   int     `json:"epoch"`
	Loss    float64 `json:"train_loss"`
	Val     float64 `json:"val_score"`
	Seconds float64 `json:"seconds"`
}

// rescaleAlphaGrads replaces each α gradient g by g / (gs·(‖g‖+1e-8)) +
// pen[i] (the size penalty), on the device, as the reference does after
// every backward pass of the search.
func rescaleAlphaGrads(alphas []*autograd.Var, pen []*tensor.Tensor, gs float32) {
	for i, a := range alphas {
		if a.Grad == nil {
			continue
		}
		sq := tensor.Square(a.Grad)
		sm := tensor.Sum(sq, false)
		sq.Release()
		n := tensor.Sqrt(sm)
		sm.Release()
		den := tensor.Unary(tensor.OpAffine, n, gs, gs*1e-8)
		n.Release()
		g := tensor.Div(a.Grad, den)
		den.Release()
		g2 := tensor.Add(g, pen[i])
		g.Release()
		a.Grad.Release()
		a.Grad = g2
	}
}
