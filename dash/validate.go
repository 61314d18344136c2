package dash

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"

	"github.com/dash-go/dash/nn"
)

// MinTrainSamples is the smallest training split a run accepts: below it
// no batch statistics or validation-based selection mean anything.
const MinTrainSamples = 8

// checkInputs validates what defaults() cannot infer: enough data for the
// budget (adapting the batch size to a small training split, and saying
// so) and searched kernel sizes and dilations that reach into the input.
func (c *Config) checkInputs() error {
	sp := c.Split
	if sp.Train == nil || sp.Val == nil {
		return errors.New("the data has no training or no validation split")
	}
	n := sp.Train.N
	if c.Budget.TrainLimit > 0 {
		n = min(n, c.Budget.TrainLimit)
	}
	if n < MinTrainSamples {
		return fmt.Errorf("too little data: the training split has %d sample(s) (of %d in all, after the test and validation hold-outs); at least %d are needed",
			n, sp.Train.N+sp.Val.N+testN(c), MinTrainSamples)
	}
	if sp.Val.N == 0 {
		return fmt.Errorf("too little data: the validation split is empty (%d training samples); the hyperparameter stage and model selection need validation samples", n)
	}
	if b := c.Budget.BatchSize; b > n {
		// every epoch drops its last incomplete batch: with a batch larger
		// than the split no step would ever run
		c.Log.Warn(fmt.Sprintf("the training split has %d samples, fewer than the %s budget's batch size %d: adapting the batch size to %d (one step per epoch)", n, c.Budget.Name, b, n))
		c.Budget.BatchSize = n
	}
	return c.checkReach()
}

func testN(c *Config) int {
	if c.Split.Test == nil {
		return 0
	}
	return c.Split.Test.N
}

// checkReach refuses searched kernel sizes larger than the input (the rule
// the backbones apply to their default kernels) and dilations so large
// that every off-centre tap of every candidate lies outside the input for
// every output position (the candidate degenerates to a 1×1 convolution).
// Combinations whose span d(k−1)+1 exceeds the input stay allowed, as in
// the reference's search spaces.
func (c *Config) checkReach() error {
	shape := c.Task.InShape
	if len(shape) < 2 {
		return nil
	}
	spatial := shape[1:]
	ext := slices.Min(spatial)
	what := fmt.Sprintf("the input length %d", ext)
	if len(spatial) > 1 {
		what = fmt.Sprintf("the input's smaller side %d (input %s)", ext, shapeStr(shape))
	}
	var bad []string
	for _, k := range c.Kernels {
		if k > ext {
			bad = append(bad, fmt.Sprintf("kernel size %d in --kernels is larger than %s", k, what))
		}
	}
	for _, d := range c.Dilations {
		if d >= ext {
			bad = append(bad, fmt.Sprintf("dilation %d in --dilations is not below %s: every tap but the centre would fall outside the input", d, what))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("searched candidates reach beyond the input: %s", strings.Join(bad, "; "))
	}
	return nil
}

func shapeStr(s []int) string {
	p := make([]string, len(s))
	for i, v := range s {
		p[i] = fmt.Sprint(v)
	}
	return strings.Join(p, "×")
}

// ValidateArchitecture checks an architecture's own consistency: layer
// names present and distinct, every (k, d) positive and, when kernels and
// dilations are given (the run's searched set), among the candidates.
func ValidateArchitecture(a *Architecture, kernels, dilations []int) error {
	if len(a.Layers) == 0 {
		return errors.New("architecture: no layers")
	}
	seen := map[string]bool{}
	for i, l := range a.Layers {
		if l.Name == "" {
			return fmt.Errorf("architecture: layer %d has no name", i)
		}
		if seen[l.Name] {
			return fmt.Errorf("architecture: layer %q appears twice", l.Name)
		}
		seen[l.Name] = true
		if l.Kernel <= 0 || l.Dilation <= 0 {
			return fmt.Errorf("architecture: layer %q has (k, d) = (%d, %d); both must be positive", l.Name, l.Kernel, l.Dilation)
		}
		if len(kernels) > 0 && len(dilations) > 0 && (!slices.Contains(kernels, l.Kernel) || !slices.Contains(dilations, l.Dilation)) {
			return fmt.Errorf("architecture: layer %q has (k, d) = (%d, %d), outside the searched candidates: kernels %v × dilations %v",
				l.Name, l.Kernel, l.Dilation, kernels, dilations)
		}
	}
	return nil
}

// checkArchLayers checks that an architecture names exactly the model's
// searchable convolutions (nil arch: the defaults, nothing to check).
func checkArchLayers(arch *Architecture, model nn.Backbone) error {
	if arch == nil {
		return nil
	}
	want := map[string]bool{}
	var names []string
	for _, s := range model.SearchableConvs() {
		want[s.Name] = true
		names = append(names, s.Name)
	}
	var unknown, missing []string
	have := map[string]bool{}
	for _, l := range arch.Layers {
		have[l.Name] = true
		if !want[l.Name] {
			unknown = append(unknown, l.Name)
		}
	}
	for _, n := range names {
		if !have[n] {
			missing = append(missing, n)
		}
	}
	if len(unknown) > 0 || len(missing) > 0 {
		var p []string
		if len(unknown) > 0 {
			p = append(p, fmt.Sprintf("layer(s) %s match no layer of the backbone", quoteList(unknown)))
		}
		if len(missing) > 0 {
			p = append(p, fmt.Sprintf("layer(s) %s of the backbone are missing", quoteList(missing)))
		}
		return fmt.Errorf("architecture: %s (the backbone's searchable layers: %s)", strings.Join(p, "; "), strings.Join(names, ", "))
	}
	return nil
}

func quoteList(s []string) string {
	if len(s) > 6 {
		s = append(slices.Clone(s[:6]), fmt.Sprintf("… (%d more)", len(s)-6))
	}
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// ValidateHParams checks the hyperparameters a network is trained with.
func ValidateHParams(hp *HParams) error {
	finite := func(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
	switch {
	case !finite(hp.LR) || hp.LR <= 0:
		return fmt.Errorf("hyperparameters: lr %v must be a positive number", hp.LR)
	case !finite(hp.Dropout) || hp.Dropout < 0 || hp.Dropout >= 1:
		return fmt.Errorf("hyperparameters: dropout %v must lie in [0, 1)", hp.Dropout)
	case !finite(hp.WeightDecay) || hp.WeightDecay < 0:
		return fmt.Errorf("hyperparameters: weight_decay %v must be ≥ 0", hp.WeightDecay)
	case !finite(hp.Momentum) || hp.Momentum < 0 || hp.Momentum >= 1:
		return fmt.Errorf("hyperparameters: momentum %v must lie in [0, 1)", hp.Momentum)
	}
	return nil
}

// checkNetwork validates what a discrete network is built and trained
// from: the architecture against the model's layers and the run's
// candidates, and the hyperparameters.
func checkNetwork(cfg *Config, arch *Architecture, hp *HParams, model nn.Backbone) error {
	if arch != nil {
		if err := ValidateArchitecture(arch, cfg.Kernels, cfg.Dilations); err != nil {
			return err
		}
		if err := checkArchLayers(arch, model); err != nil {
			return err
		}
	}
	return ValidateHParams(hp)
}

// decodeStrict decodes JSON into v, refusing unknown fields and trailing
// data, with the file named in errors.
func decodeStrict(data []byte, name string, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if dec.More() {
		return fmt.Errorf("%s: trailing data after the JSON object", name)
	}
	return nil
}

// ParseArchitecture decodes and validates architecture.json (unknown
// fields are errors: a misspelt "kernel" would otherwise be ignored). The
// caller names the file in its error.
func ParseArchitecture(data []byte) (*Architecture, error) {
	var a Architecture
	if err := decodeStrict(data, "architecture", &a); err != nil {
		return nil, err
	}
	if err := ValidateArchitecture(&a, a.Kernels, a.Dilations); err != nil {
		return nil, err
	}
	return &a, nil
}

// ParseHParams decodes and validates hparams.json.
func ParseHParams(data []byte) (*HParams, error) {
	var hp HParams
	if err := decodeStrict(data, "hyperparameters", &hp); err != nil {
		return nil, err
	}
	if err := ValidateHParams(&hp); err != nil {
		return nil, err
	}
	return &hp, nil
}

// CheckArchitecture validates an architecture against the configuration's
// backbone (its searchable layer names) and searched candidates, building
// the backbone once to learn its layers. It lets callers refuse a bad
// architecture.json before any stage starts.
func CheckArchitecture(cfg Config, a *Architecture) error {
	cfg.Log = slog.New(slog.DiscardHandler) // the stage that follows says what defaults() says
	if err := cfg.defaults(); err != nil {
		return err
	}
	if err := ValidateArchitecture(a, cfg.Kernels, cfg.Dilations); err != nil {
		return err
	}
	model, err := buildBackbone(cfg, cfg.Budget.Width, nil, 0)
	if err != nil {
		return err
	}
	defer nn.Release(model)
	return checkArchLayers(a, model)
}
