// Package optim provides optimisers (SGD with momentum, Nesterov and weight
// decay; Adam and AdamW) over parameter groups with their own
// hyperparameters, learning-rate schedules, and gradient clipping by global
// norm. Updates run on the device through the engine's fused kernels
// (tensor.SGDStep, tensor.AdamStep); optimiser state lives on the device and
// is exported to host tensors only for checkpoints.
package optim

import (
	"fmt"
	"strconv"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/nn/checkpoint"
	"github.com/dash-go/dash/tensor"
)

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step applies one update to every parameter that has a gradient, with
	// each group's learning rate multiplied by the current LR factor.
	Step()
	// ZeroGrad releases every parameter's gradient.
	ZeroGrad()
	// SetLRFactor sets the multiplier applied to every group's base
	// learning rate (set by a Schedule).
	SetLRFactor(f float64)
	// Params lists all parameters of all groups.
	Params() []*autograd.Var
	// StateDict exports the optimiser state (device buffers copied to the
	// host) under names starting with prefix, plus metadata entries.
	StateDict(prefix string) (map[string]*checkpoint.Tensor, map[string]string)
	// LoadStateDict restores state written by StateDict, validating names
	// and shapes.
	LoadStateDict(prefix string, ts map[string]*checkpoint.Tensor, meta map[string]string) error
	// Release frees the device state.
	Release()
}

// SGDGroup is a parameter group with its SGD hyperparameters.
type SGDGroup struct {
	Params []*autograd.Var
	tensor.SGDParams
}

// SGD is stochastic gradient descent with PyTorch's semantics for momentum,
// Nesterov momentum and (coupled) weight decay.
type SGD struct {
	Groups []*SGDGroup
	mom    [][]*tensor.Tensor
	factor float64
}

// NewSGD returns an SGD optimiser over the groups. Momentum buffers are
// allocated on the parameters' device.
func NewSGD(groups ...*SGDGroup) (*SGD, error) {
	o := &SGD{Groups: groups, factor: 1}
	if err := checkGroups(len(groups), func(i int) []*autograd.Var { return groups[i].Params }); err != nil {
		return nil, err
	}
	for gi, g := range groups {
		if g.LR < 0 || g.Momentum < 0 || g.Momentum >= 1 || g.WeightDecay < 0 {
			return nil, fmt.Errorf("optim: SGD group %d: lr %v, momentum %v, weight decay %v (want lr, wd ≥ 0 and 0 ≤ momentum < 1)", gi, g.LR, g.Momentum, g.WeightDecay)
		}
		if g.Nesterov && g.Momentum == 0 {
			return nil, fmt.Errorf("optim: SGD group %d: Nesterov needs momentum > 0", gi)
		}
		ms := make([]*tensor.Tensor, len(g.Params))
		if g.Momentum != 0 {
			for i, p := range g.Params {
				ms[i] = tensor.Zeros(p.Value.Backend(), p.Value.Shape()...)
			}
		}
		o.mom = append(o.mom, ms)
	}
	return o, nil
}

func checkGroups(n int, params func(int) []*autograd.Var) error {
	if n == 0 {
		return fmt.Errorf("optim: no parameter groups")
	}
	seen := map[*autograd.Var]bool{}
	for i := range n {
		for _, p := range params(i) {
			if p == nil || !p.IsLeaf() || !p.RequiresGrad() {
				return fmt.Errorf("optim: group %d: %q is not a trainable leaf", i, name(p))
			}
			if seen[p] {
				return fmt.Errorf("optim: parameter %q is in more than one group", p.Name)
			}
			seen[p] = true
		}
	}
	return nil
}

func name(p *autograd.Var) string {
	if p == nil {
		return "<nil>"
	}
	return p.Name
}

// Step applies one SGD update.
func (o *SGD) Step() {
	for gi, g := range o.Groups {
		h := g.SGDParams
		h.LR = float32(float64(h.LR) * o.factor)
		for i, p := range g.Params {
			if p.Grad == nil {
				continue
			}
			tensor.SGDStep(p.Value, p.Grad, o.mom[gi][i], h)
		}
	}
}

// ZeroGrad releases the gradients.
func (o *SGD) ZeroGrad() {
	for _, p := range o.Params() {
		p.ZeroGrad()
	}
}

// SetLRFactor sets the learning-rate multiplier.
func (o *SGD) SetLRFactor(f float64) { o.factor = f }

// LRFactor returns the current learning-rate multiplier.
func (o *SGD) LRFactor() float64 { return o.factor }

// Params lists all parameters.
func (o *SGD) Params() []*autograd.Var {
	var out []*autograd.Var
	for _, g := range o.Groups {
		out = append(out, g.Params...)
	}
	return out
}

// stateName names parameter i of group gi's state.
func stateName(prefix, kind string, gi, i int, p *autograd.Var) string {
	n := p.Name
	if n == "" {
		n = "group" + strconv.Itoa(gi) + ".param" + strconv.Itoa(i)
	}
	return prefix + kind + "." + n
}

// StateDict exports the momentum buffers as "<prefix>momentum.<param>".
func (o *SGD) StateDict(prefix string) (map[string]*checkpoint.Tensor, map[string]string) {
	ts := map[string]*checkpoint.Tensor{}
	for gi, g := range o.Groups {
		for i, p := range g.Params {
			if m := o.mom[gi][i]; m != nil {
				ts[stateName(prefix, "momentum", gi, i, p)] = checkpoint.F32(m.Float32s(), m.Shape()...)
			}
		}
	}
	return ts, map[string]string{prefix + "type": "sgd"}
}

// LoadStateDict restores the momentum buffers.
func (o *SGD) LoadStateDict(prefix string, ts map[string]*checkpoint.Tensor, meta map[string]string) error {
	if t := meta[prefix+"type"]; t != "" && t != "sgd" {
		return fmt.Errorf("optim: checkpoint holds %q optimiser state, want sgd", t)
	}
	for gi, g := range o.Groups {
		for i, p := range g.Params {
			if m := o.mom[gi][i]; m != nil {
				if err := load(m, ts, stateName(prefix, "momentum", gi, i, p)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func load(dst *tensor.Tensor, ts map[string]*checkpoint.Tensor, n string) error {
	t, ok := ts[n]
	if !ok {
		return fmt.Errorf("optim: checkpoint lacks optimiser state %q", n)
	}
	if t.DType != "F32" || !tensor.SameShape(t.Shape, dst.Shape()) {
		return fmt.Errorf("optim: optimiser state %q is %s %v in the checkpoint, want F32 %v", n, t.DType, t.Shape, dst.Shape())
	}
	src := tensor.FromFloat32(dst.Backend(), t.F32, t.Shape...)
	dst.CopyFrom(src)
	src.Release()
	return nil
}

// Release frees the momentum buffers.
func (o *SGD) Release() {
	for _, ms := range o.mom {
		for _, m := range ms {
			m.Release()
		}
	}
}

// AdamGroup is a parameter group with its Adam hyperparameters
// (Decoupled: AdamW). Zero Beta1, Beta2 and Eps take PyTorch's defaults
// 0.9, 0.999 and 1e-8.
type AdamGroup struct {
	Params                             []*autograd.Var
	LR, Beta1, Beta2, Eps, WeightDecay float32
	Decoupled                          bool
}

// Adam is Adam (or AdamW per group) with bias correction.
type Adam struct {
	Groups []*AdamGroup
	m, v   [][]*tensor.Tensor
	step   int
	factor float64
}

// NewAdam returns an Adam/AdamW optimiser over the groups.
func NewAdam(groups ...*AdamGroup) (*Adam, error) {
	if err := checkGroups(len(groups), func(i int) []*autograd.Var { return groups[i].Params }); err != nil {
		return nil, err
	}
	o := &Adam{Groups: groups, factor: 1}
	for gi, g := range groups {
		if g.Beta1 == 0 {
			g.Beta1 = 0.9
		}
		if g.Beta2 == 0 {
			g.Beta2 = 0.999
		}
		if g.Eps == 0 {
			g.Eps = 1e-8
		}
		if g.LR < 0 || g.Beta1 < 0 || g.Beta1 >= 1 || g.Beta2 < 0 || g.Beta2 >= 1 || g.Eps < 0 || g.WeightDecay < 0 {
			return nil, fmt.Errorf("optim: Adam group %d: lr %v betas (%v, %v) eps %v weight decay %v out of range", gi, g.LR, g.Beta1, g.Beta2, g.Eps, g.WeightDecay)
		}
		ms := make([]*tensor.Tensor, len(g.Params))
		vs := make([]*tensor.Tensor, len(g.Params))
		for i, p := range g.Params {
			ms[i] = tensor.Zeros(p.Value.Backend(), p.Value.Shape()...)
			vs[i] = tensor.Zeros(p.Value.Backend(), p.Value.Shape()...)
		}
		o.m = append(o.m, ms)
		o.v = append(o.v, vs)
	}
	return o, nil
}

// Step applies one Adam update (the bias-correction step counts calls).
func (o *Adam) Step() {
	o.step++
	for gi, g := range o.Groups {
		h := tensor.AdamParams{LR: float32(float64(g.LR) * o.factor), Beta1: g.Beta1, Beta2: g.Beta2, Eps: g.Eps,
			WeightDecay: g.WeightDecay, Decoupled: g.Decoupled, Step: o.step}
		for i, p := range g.Params {
			if p.Grad == nil {
				continue
			}
			tensor.AdamStep(p.Value, p.Grad, o.m[gi][i], o.v[gi][i], h)
		}
	}
}

// ZeroGrad releases the gradients.
func (o *Adam) ZeroGrad() {
	for _, p := range o.Params() {
		p.ZeroGrad()
	}
}

// SetLRFactor sets the learning-rate multiplier.
func (o *Adam) SetLRFactor(f float64) { o.factor = f }

// Params lists all parameters.
func (o *Adam) Params() []*autograd.Var {
	var out []*autograd.Var
	for _, g := range o.Groups {
		out = append(out, g.Params...)
	}
	return out
}

// StateDict exports the moments as "<prefix>exp_avg.<param>" and
// "<prefix>exp_avg_sq.<param>" and the step count as metadata.
func (o *Adam) StateDict(prefix string) (map[string]*checkpoint.Tensor, map[string]string) {
	ts := map[string]*checkpoint.Tensor{}
	for gi, g := range o.Groups {
		for i, p := range g.Params {
			ts[stateName(prefix, "exp_avg", gi, i, p)] = checkpoint.F32(o.m[gi][i].Float32s(), p.Value.Shape()...)
			ts[stateName(prefix, "exp_avg_sq", gi, i, p)] = checkpoint.F32(o.v[gi][i].Float32s(), p.Value.Shape()...)
		}
	}
	return ts, map[string]string{prefix + "type": "adam", prefix + "step": strconv.Itoa(o.step)}
}

// LoadStateDict restores the moments and the step count.
func (o *Adam) LoadStateDict(prefix string, ts map[string]*checkpoint.Tensor, meta map[string]string) error {
	if t := meta[prefix+"type"]; t != "adam" {
		return fmt.Errorf("optim: checkpoint holds %q optimiser state, want adam", t)
	}
	step, err := strconv.Atoi(meta[prefix+"step"])
	if err != nil {
		return fmt.Errorf("optim: bad Adam step %q in checkpoint: %w", meta[prefix+"step"], err)
	}
	for gi, g := range o.Groups {
		for i, p := range g.Params {
			if err := load(o.m[gi][i], ts, stateName(prefix, "exp_avg", gi, i, p)); err != nil {
				return err
			}
			if err := load(o.v[gi][i], ts, stateName(prefix, "exp_avg_sq", gi, i, p)); err != nil {
				return err
			}
		}
	}
	o.step = step
	return nil
}

// Release frees the moment buffers.
func (o *Adam) Release() {
	for gi := range o.m {
		for i := range o.m[gi] {
			o.m[gi][i].Release()
			o.v[gi][i].Release()
		}
	}
}

// GradNorm returns the global L2 norm of the parameters' gradients as a
// device scalar (the caller releases it), or nil when none has a gradient.
func GradNorm(params []*autograd.Var) *tensor.Tensor {
	var total *tensor.Tensor
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		sq := tensor.Square(p.Grad)
		s := tensor.Sum(sq, false)
		sq.Release()
		if total == nil {
			total = s
			continue
		}
		t := tensor.Add(total, s)
		total.Release()
		s.Release()
		total = t
	}
	if total == nil {
		return nil
	}
	n := tensor.Sqrt(total)
	total.Release()
	return n
}

// ClipGradNorm rescales the gradients in place so that their global L2
// norm is at most maxNorm: g ← g · min(1, maxNorm/(‖g‖+1e-6)) (PyTorch's
// clip_grad_norm_). Everything runs on the device; nothing is read back.
func ClipGradNorm(params []*autograd.Var, maxNorm float32) {
	norm := GradNorm(params)
	if norm == nil {
		return
	}
	den := tensor.AddScalar(norm, 1e-6)
	norm.Release()
	inv := tensor.Unary(tensor.OpRecip, den, 0, 0)
	den.Release()
	coef := tensor.Unary(tensor.OpAffine, inv, maxNorm, 0)
	inv.Release()
	scale := tensor.Unary(tensor.OpClampMax, coef, 1, 0)
	coef.Release()
	for _, p := range params {
		if p.Grad == nil {
			continue
		}
		g := tensor.Mul(p.Grad, scale)
		p.Grad.Release()
		p.Grad = g
	}
	scale.Release()
}
