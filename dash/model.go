package dash

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/nn"
	"github.com/dash-go/dash/tensor"
)

// File names of a run directory that Load reads.
const (
	// ModelFile describes the retrained network for Load: task form,
	// backbone, shapes, width and the normaliser of the training split.
	ModelFile = "model.json"
	// WeightsFile holds the retrained network's weights.
	WeightsFile = "weights.safetensors"
	// ArchitectureFile holds the searched (k, d) per layer.
	ArchitectureFile = "architecture.json"
)

// ErrNotRetrained is wrapped by Load's error for a run directory whose
// searched network has not been retrained yet (no weights.safetensors).
var ErrNotRetrained = errors.New("the run is not retrained yet")

// ModelSpec is model.json: everything besides architecture.json and the
// weights that rebuilding the retrained network and applying it to new data
// needs. Retraining the searched network writes it next to
// weights.safetensors.
type ModelSpec struct {
	Task string `json:"task"`
	// Kind is the task form: "class", "multilabel" or "dense".
	Kind string `json:"kind"`
	// Backbone is the task's backbone name as nn.ConfigForTask reads it
	// ("resnet1d", "resnet1d-causal", "tcn", "wrn"; dense tasks turn "wrn"
	// into "wrn-dense").
	Backbone string `json:"backbone"`
	Dims     int    `json:"dims"`
	// InShape is the per-sample input shape, channels first.
	InShape []int `json:"in_shape"`
	// OutShape is the per-sample dense output shape (dense tasks).
	OutShape []int `json:"out_shape,omitempty"`
	// Classes is the number of classes or labels (0 for dense tasks).
	Classes   int    `json:"classes"`
	Width     int    `json:"width"`
	BatchSize int    `json:"batch_size"`
	Loss      string `json:"loss"`
	Metric    string `json:"metric"`
	// Norm is the normaliser of the run's training split.
	Norm NormSpec `json:"normalizer"`
}

// NormSpec is a datasets.Normalizer as JSON: each statistic holds one value
// (global) or one per element of a sample (pointwise). Inputs are mapped to
// (x − XMean)/(XStd + datasets.NormEps), except where XMean is 0 and XStd 1;
// dense outputs are mapped back by y·(YStd + datasets.NormEps) + YMean
// (no Y statistics: outputs are used as they are).
type NormSpec struct {
	XMean []float32 `json:"x_mean"`
	XStd  []float32 `json:"x_std"`
	YMean []float32 `json:"y_mean,omitempty"`
	YStd  []float32 `json:"y_std,omitempty"`
}

// Normalizer converts the spec to the datasets type.
func (n NormSpec) Normalizer() *datasets.Normalizer {
	return &datasets.Normalizer{XMean: n.XMean, XStd: n.XStd, YMean: n.YMean, YStd: n.YStd}
}

// SpecFor describes the network a Config retrains (its task, the retrained
// width and the normaliser of its training split).
func SpecFor(cfg Config) ModelSpec {
	t := cfg.Task
	s := ModelSpec{Task: t.Name, Kind: t.Kind.String(), Backbone: t.Backbone, Dims: t.Dims,
		InShape: slices.Clone(t.InShape), OutShape: slices.Clone(t.OutShape), Classes: t.Classes,
		Width: cfg.Budget.Width, BatchSize: cfg.Budget.BatchSize, Loss: t.Loss, Metric: t.Metric}
	if rb := cfg.Budget.RetrainBackbone; rb != "" {
		s.Backbone = rb // the discrete networks' backbone (buildDiscrete)
	}
	if cfg.Split != nil && cfg.Split.Norm != nil {
		n := cfg.Split.Norm
		s.Norm = NormSpec{XMean: n.XMean, XStd: n.XStd, YMean: n.YMean, YStd: n.YStd}
	}
	return s
}

// WriteModelSpec writes model.json into the run directory of cfg.
func WriteModelSpec(cfg Config) error {
	return WriteJSON(cfg.path(ModelFile), SpecFor(cfg))
}

// task rebuilds the datasets.Task the network was built for.
func (s *ModelSpec) task() (*datasets.Task, error) {
	kind, err := datasets.ParseTargetKind(s.Kind)
	if err != nil {
		return nil, err
	}
	return &datasets.Task{Name: s.Task, Dims: s.Dims, InShape: slices.Clone(s.InShape), Kind: kind, Classes: s.Classes,
		OutShape: slices.Clone(s.OutShape), Loss: s.Loss, Metric: s.Metric, Backbone: s.Backbone, BatchSize: s.BatchSize}, nil
}

// validate checks the spec read from model.json.
func (s *ModelSpec) validate() error {
	var errs []error
	if len(s.InShape) < 2 || len(s.InShape) > 3 {
		errs = append(errs, fmt.Errorf("in_shape %v, want [C,L] or [C,H,W]", s.InShape))
	}
	for _, d := range s.InShape {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("in_shape %v has a non-positive dimension", s.InShape))
			break
		}
	}
	if _, err := datasets.ParseTargetKind(s.Kind); err != nil {
		errs = append(errs, err)
	}
	n := tensor.Numel(s.InShape)
	for _, st := range [][]float32{s.Norm.XMean, s.Norm.XStd} {
		if len(st) != 1 && len(st) != n {
			errs = append(errs, fmt.Errorf("input normaliser has %d values, want 1 or %d", len(st), n))
			break
		}
	}
	if len(s.Norm.XMean) != len(s.Norm.XStd) || len(s.Norm.YMean) != len(s.Norm.YStd) {
		errs = append(errs, errors.New("normaliser means and standard deviations differ in length"))
	}
	if len(s.Norm.YMean) > 1 && s.Kind == "dense" && len(s.Norm.YMean) != tensor.Numel(s.OutShape) {
		errs = append(errs, fmt.Errorf("output normaliser has %d values, want 1 or %d", len(s.Norm.YMean), tensor.Numel(s.OutShape)))
	}
	return errors.Join(errs...)
}

// Model is a run's retrained network, ready to apply to new data: the
// searched architecture with its retrained weights and the run's input
// normaliser. It is built exactly as 'dash eval' builds it.
type Model struct {
	// Dir is the run directory.
	Dir string
	// Spec describes the task form, shapes and normaliser.
	Spec ModelSpec
	// Arch is the searched architecture (architecture.json).
	Arch Architecture
	// BatchSize is the number of samples per forward pass in Predict
	// (default: the run's batch size).
	BatchSize int

	net  nn.Backbone
	be   tensor.Backend
	norm *datasets.Normalizer
	mu   sync.Mutex // one forward pass at a time (Predict may be called concurrently)
}

// Load rebuilds the retrained network of a run directory on a backend:
// architecture.json gives the searched (k, d) per layer, model.json the
// task form, backbone, width and normaliser, and weights.safetensors the
// weights (read through nn.LoadCheckpoint, so its checks apply). A run
// without weights is reported with ErrNotRetrained; a corrupt or
// mismatched weights file is an error naming the file.
//
// Runs written before model.json existed are rebuilt for the built-in
// tasks by reloading the task's data with the run's seed (metrics.json) to
// recompute the normaliser.
func Load(runDir string, be tensor.Backend) (*Model, error) {
	return LoadContext(context.Background(), runDir, be)
}

// LoadContext is Load with a context for the data reload of older runs.
func LoadContext(ctx context.Context, runDir string, be tensor.Backend) (*Model, error) {
	if be == nil {
		return nil, errors.New("dash: Load needs a backend")
	}
	st, err := os.Stat(runDir)
	if err != nil {
		return nil, fmt.Errorf("dash: run directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("dash: run directory %s is not a directory", runDir)
	}
	m := &Model{Dir: runDir, be: be}
	if err := ReadJSON(filepath.Join(runDir, ArchitectureFile), &m.Arch); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("dash: %s has no %s: not a run directory, or its search has not finished", runDir, ArchitectureFile)
		}
		return nil, fmt.Errorf("dash: %w", err)
	}
	weights := filepath.Join(runDir, WeightsFile)
	if _, err := os.Stat(weights); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("dash: %s: %w: no %s (finish it with 'dash run --resume --out %s' or 'dash retrain --out %s')",
				runDir, ErrNotRetrained, WeightsFile, runDir, runDir)
		}
		return nil, fmt.Errorf("dash: %w", err)
	}
	switch err := ReadJSON(filepath.Join(runDir, ModelFile), &m.Spec); {
	case errors.Is(err, fs.ErrNotExist):
		spec, err := specFromBuiltin(ctx, runDir)
		if err != nil {
			return nil, err
		}
		m.Spec = *spec
	case err != nil:
		return nil, fmt.Errorf("dash: %w", err)
	}
	if err := m.Spec.validate(); err != nil {
		return nil, fmt.Errorf("dash: %s: %w", filepath.Join(runDir, ModelFile), err)
	}
	task, err := m.Spec.task()
	if err != nil {
		return nil, fmt.Errorf("dash: %s: %w", filepath.Join(runDir, ModelFile), err)
	}
	m.norm = m.Spec.Norm.Normalizer()
	m.BatchSize = max(m.Spec.BatchSize, 1)
	cfg := Config{Task: task, Backend: be, Seed: m.Arch.Seed}
	net, err := buildDiscrete(cfg, m.Spec.Width, &m.Arch, 0)
	if err != nil {
		return nil, fmt.Errorf("dash: rebuilding the network of %s: %w", runDir, err)
	}
	if err := ValidateArchitecture(&m.Arch, m.Arch.Kernels, m.Arch.Dilations); err != nil {
		nn.Release(net)
		return nil, fmt.Errorf("dash: %s: %w", filepath.Join(runDir, ArchitectureFile), err)
	}
	if err := checkArchLayers(&m.Arch, net); err != nil {
		nn.Release(net)
		return nil, fmt.Errorf("dash: %s: %w", filepath.Join(runDir, ArchitectureFile), err)
	}
	if _, err := nn.LoadCheckpoint(weights, net, nil); err != nil {
		nn.Release(net)
		return nil, fmt.Errorf("dash: weights of %s: %w", runDir, err)
	}
	net.SetTraining(false)
	m.net = net
	return m, nil
}

// specFromBuiltin rebuilds the spec of a run written before model.json:
// its built-in task and seed from metrics.json, the width from
// hparams.json, the normaliser from the task's data loaded as the run
// loaded it.
func specFromBuiltin(ctx context.Context, runDir string) (*ModelSpec, error) {
	var met Metrics
	if err := ReadJSON(filepath.Join(runDir, "metrics.json"), &met); err != nil {
		return nil, fmt.Errorf("dash: %s has no %s and no readable metrics.json (%v): retrain it with this version to write %s",
			runDir, ModelFile, err, ModelFile)
	}
	task, err := datasets.Lookup(met.Task)
	if err != nil {
		return nil, fmt.Errorf("dash: %s has no %s and its task %q is not built in (runs on your own data write %s since this version): %w",
			runDir, ModelFile, met.Task, ModelFile, err)
	}
	var hp HParams
	if err := ReadJSON(filepath.Join(runDir, hparamsFile("dash")), &hp); err != nil {
		return nil, fmt.Errorf("dash: %s: %w", runDir, err)
	}
	limit := 0
	if task.Synthetic && hp.Budget.TrainLimit > 0 {
		limit = hp.Budget.TrainLimit + hp.Budget.TrainLimit/9 + 1 // as 'dash run' loads it
	}
	split, err := task.Load(ctx, datasets.LoadOptions{Seed: int64(met.Seed), Limit: limit, Raw: true})
	if err != nil {
		return nil, fmt.Errorf("dash: %s has no %s; reloading %s for its normaliser: %w", runDir, ModelFile, task.Name, err)
	}
	b := hp.Budget
	if b.BatchSize == 0 {
		b.BatchSize = task.BatchSize
	}
	s := SpecFor(Config{Task: task, Split: split, Budget: b})
	return &s, nil
}

// Close releases the network's device memory. The model must not be used
// afterwards.
func (m *Model) Close() {
	if m.net != nil {
		nn.Release(m.net)
		m.net = nil
	}
}

// Backbone is the rebuilt network (evaluation mode).
func (m *Model) Backbone() nn.Backbone { return m.net }

// Normalizer is the run's normaliser.
func (m *Model) Normalizer() *datasets.Normalizer { return m.norm }

// InputShape is the per-sample input shape, channels first.
func (m *Model) InputShape() []int { return slices.Clone(m.Spec.InShape) }

// OutputShape is the per-sample output shape: [classes], [labels] or the
// dense field's [C,H,W] / [C,L].
func (m *Model) OutputShape() []int {
	if m.net == nil {
		return nil
	}
	return m.net.OutputShape()
}

// Array is a float32 array in C order; Shape[0] is the sample axis.
type Array struct {
	Shape []int
	Data  []float32
}

// Prediction is the network's output on a batch of samples, in the task's
// form.
type Prediction struct {
	// Kind is "class", "multilabel" or "dense".
	Kind string
	// Shape is the shape of Values: [N, classes], [N, labels] or
	// [N, C, spatial...].
	Shape []int
	// Values holds class probabilities (softmax), multi-label scores
	// (sigmoid) or the dense field in the targets' units (the normaliser's
	// output statistics undone).
	Values []float32
	// Logits are the raw network outputs (before softmax, sigmoid or the
	// output normaliser), Shape as Values.
	Logits []float32
	// Labels are the predicted class per sample ([N], class tasks) or the
	// 0/1 labels with score ≥ 0.5 ([N, labels], multi-label tasks); nil for
	// dense tasks.
	Labels []int32
}

// CheckInput verifies that x holds samples of the run's input shape and
// returns the samples' count. A 1-D run with one input channel also takes
// [N, L]. The error names the expected shape.
func (m *Model) CheckInput(x Array) (int, error) {
	in := m.Spec.InShape
	want := "[N " + strings.Trim(fmt.Sprint(in), "[]") + "]"
	ok := len(x.Shape) == len(in)+1 && slices.Equal(x.Shape[1:], in)
	if !ok && len(in) == 2 && in[0] == 1 && len(x.Shape) == 2 && x.Shape[1] == in[1] {
		ok = true
	}
	if !ok {
		return 0, fmt.Errorf("dash: input shape %v does not match the run %s: want %s (N samples, channels first)", x.Shape, m.Dir, want)
	}
	n := x.Shape[0]
	if n <= 0 {
		return 0, fmt.Errorf("dash: input shape %v holds no samples: want %s with N ≥ 1", x.Shape, want)
	}
	if len(x.Data) != n*tensor.Numel(in) {
		return 0, fmt.Errorf("dash: input of shape %v has %d values, want %d", x.Shape, len(x.Data), n*tensor.Numel(in))
	}
	for i, v := range x.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return 0, fmt.Errorf("dash: input value %d (sample %d) is %v: inputs must be finite", i, i/tensor.Numel(in), v)
		}
	}
	return n, nil
}

// Predict applies the network to x ([N, in_shape...], raw inputs: the
// run's normaliser is applied here) in batches of m.BatchSize.
func (m *Model) Predict(x Array) (*Prediction, error) {
	return m.PredictContext(context.Background(), x)
}

// PredictContext is Predict, stopping between batches when ctx is done.
func (m *Model) PredictContext(ctx context.Context, x Array) (p *Prediction, err error) {
	if m.net == nil {
		return nil, errors.New("dash: Predict on a closed model")
	}
	n, err := m.CheckInput(x)
	if err != nil {
		return nil, err
	}
	in := m.Spec.InShape
	ss := tensor.Numel(in)
	out := m.net.OutputShape()
	osz := tensor.Numel(out)
	logits := make([]float32, 0, n*osz)
	bs := max(m.BatchSize, 1)
	buf := make([]float32, 0, min(bs, n)*ss)
	for lo := 0; lo < n; lo += bs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+bs, n)
		buf = append(buf[:0], x.Data[lo*ss:hi*ss]...)
		if err := m.norm.EncodeX(buf); err != nil {
			return nil, fmt.Errorf("dash: normalising inputs: %w", err)
		}
		y, err := m.forward(buf, hi-lo)
		if err != nil {
			return nil, err
		}
		if len(y) != (hi-lo)*osz {
			return nil, fmt.Errorf("dash: the network returned %d values for %d samples, want %d per sample", len(y), hi-lo, osz)
		}
		logits = append(logits, y...)
	}
	return m.postprocess(logits, n)
}

// forward runs one normalised batch through the network.
func (m *Model) forward(x []float32, n int) (y []float32, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("dash: forward pass: %v", r)
		}
	}()
	xt := tensor.FromFloat32(m.be, x, append([]int{n}, m.Spec.InShape...)...)
	defer xt.Release()
	m.mu.Lock() // nn.NoGrad flips the network's parameters for the pass
	defer m.mu.Unlock()
	nn.NoGrad(m.net, func() {
		o := m.net.Forward(autograd.Const(xt))
		y = o.Value.Float32s()
		autograd.Release(o)
	})
	return y, nil
}

// postprocess turns raw outputs into the task's form.
func (m *Model) postprocess(logits []float32, n int) (*Prediction, error) {
	out := m.net.OutputShape()
	p := &Prediction{Kind: m.Spec.Kind, Shape: append([]int{n}, out...), Logits: logits}
	c := tensor.Numel(out)
	vals := make([]float32, len(logits))
	switch m.Spec.Kind {
	case "class":
		p.Labels = make([]int32, n)
		for i := range n {
			row := logits[i*c : (i+1)*c]
			best := 0
			mx := math.Inf(-1)
			for j, v := range row {
				if float64(v) > mx {
					mx, best = float64(v), j
				}
			}
			var sum float64
			for _, v := range row {
				sum += math.Exp(float64(v) - mx)
			}
			for j, v := range row {
				vals[i*c+j] = float32(math.Exp(float64(v)-mx) / sum)
			}
			p.Labels[i] = int32(best)
		}
	case "multilabel":
		p.Labels = make([]int32, len(logits))
		for i, v := range logits {
			s := 1 / (1 + math.Exp(-float64(v)))
			vals[i] = float32(s)
			if s >= 0.5 {
				p.Labels[i] = 1
			}
		}
	case "dense":
		copy(vals, logits)
		if err := m.norm.DecodeY(vals); err != nil {
			return nil, fmt.Errorf("dash: decoding outputs: %w", err)
		}
	default:
		return nil, fmt.Errorf("dash: unknown task kind %q", m.Spec.Kind)
	}
	p.Values = vals
	return p, nil
}

// InputScaleWarning compares the mean and spread of x with those of the
// run's training inputs (the normaliser's statistics) and returns a
// warning when they look like other units — e.g. 0–255 pixels given to a
// run trained on [0, 1] — or "" when they are comparable. Predict works
// either way; the warning is for the caller to show.
func (m *Model) InputScaleWarning(x Array) string {
	mean, std := m.Spec.Norm.XMean, m.Spec.Norm.XStd
	var s, ss, vs float64
	n := 0
	for i := range mean {
		if mean[i] == 0 && std[i] == 1 {
			continue // constant elements, left as they are
		}
		s += float64(mean[i])
		ss += float64(mean[i]) * float64(mean[i])
		vs += float64(std[i]) * float64(std[i])
		n++
	}
	if n == 0 || len(x.Data) == 0 {
		return ""
	}
	mu := s / float64(n)
	sigma := math.Sqrt(max(vs/float64(n)+ss/float64(n)-mu*mu, 0))
	var xs, xss float64
	for _, v := range x.Data {
		xs += float64(v)
		xss += float64(v) * float64(v)
	}
	k := float64(len(x.Data))
	xmu := xs / k
	xsigma := math.Sqrt(max(xss/k-xmu*xmu, 0))
	if sigma == 0 {
		return ""
	}
	if math.Abs(xmu-mu) > 4*sigma || xsigma > 10*sigma || xsigma < sigma/10 {
		return fmt.Sprintf("the inputs (mean %.4g, standard deviation %.4g) look unlike the run's training inputs (mean %.4g, standard deviation %.4g): are they in the same units and layout?",
			xmu, xsigma, mu, sigma)
	}
	return ""
}
