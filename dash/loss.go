package dash

import (
	"errors"
	"fmt"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/tensor"
)

// decodedLpLoss is the reference's training loss for Darcy flow:
// LpLoss(size_average=False) on y_normalizer.decode'd outputs and targets,
//
//	Σ_i ‖D(out_i) − D(y_i)‖₂ / ‖D(y_i)‖₂   (sum over the batch)
//
// with D(v)_j = v_j·(std_j + ε) + mean_j the pointwise de-normalisation of
// the training split's Y statistics (datasets.Normalizer.DecodeY). It is
// used for every training of a dense relative-L2 task whose targets are
// normalised: the search, the hyperparameter stage and the retraining, as
// the reference's train_one_epoch decodes in all three.
type decodedLpLoss struct {
	m             int
	scale, offset *tensor.Tensor // [1, m]
}

// newDecodedLpLoss builds the loss for targets of m elements from norm's Y
// statistics (global or pointwise).
func newDecodedLpLoss(be tensor.Backend, norm *datasets.Normalizer, m int) (*decodedLpLoss, error) {
	if norm == nil || len(norm.YMean) == 0 {
		return nil, errors.New("dash: the de-normalised relative-L2 loss needs Y statistics")
	}
	if len(norm.YMean) != len(norm.YStd) || (len(norm.YMean) != 1 && len(norm.YMean) != m) {
		return nil, fmt.Errorf("dash: Y statistics of %d/%d elements for targets of %d", len(norm.YMean), len(norm.YStd), m)
	}
	s, o := decodeAffine(norm.YMean, norm.YStd, m)
	return &decodedLpLoss{m: m, scale: tensor.FromFloat32(be, s, 1, m), offset: tensor.FromFloat32(be, o, 1, m)}, nil
}

// decodeAffine returns the per-element scale and offset of DecodeY: v·(std
// + ε) + mean, except for elements marked unnormalised (mean 0, std 1),
// which decode to themselves.
func decodeAffine(mean, std []float32, m int) (scale, offset []float32) {
	scale, offset = make([]float32, m), make([]float32, m)
	for j := range m {
		mu, sd := mean[0], std[0]
		if len(mean) > 1 {
			mu, sd = mean[j], std[j]
		}
		if mu == 0 && sd == 1 {
			scale[j] = 1
			continue
		}
		scale[j], offset[j] = sd+datasets.NormEps, mu
	}
	return scale, offset
}

// Func is the loss as a train.Config.LossFunc.
func (l *decodedLpLoss) Func(out *autograd.Var, _, y *tensor.Tensor) (*autograd.Var, error) {
	if y == nil {
		return nil, errors.New("dash: the de-normalised relative-L2 loss needs Y targets")
	}
	n := out.Value.Dim(0)
	if out.Value.Numel() != n*l.m || y.Numel() != n*l.m {
		return nil, fmt.Errorf("dash: de-normalised relative L2: output %v and targets %v, want %d samples of %d", out.Value.Shape(), y.Shape(), n, l.m)
	}
	yr := y.Reshape(n, l.m)
	ys := tensor.Mul(yr, l.scale)
	dy := tensor.Add(ys, l.offset)
	ys.Release()
	den := tensor.RelativeL2Denominator(dy)
	do := autograd.Add(autograd.Mul(autograd.Reshape(out, n, l.m), autograd.Const(l.scale)), autograd.Const(l.offset))
	num := autograd.Sqrt(autograd.Sum(autograd.Square(autograd.Sub(do, autograd.Temp(dy))), false, 1))
	return autograd.Sum(autograd.Div(num, autograd.Temp(den)), false), nil
}

// Release frees the statistics.
func (l *decodedLpLoss) Release() {
	if l != nil {
		l.scale.Release()
		l.offset.Release()
	}
}

// trainLoss returns the training loss hook of cfg's task (nil: the task's
// named loss) and a function releasing it. Dense relative-L2 tasks with
// normalised targets (Darcy) train on the de-normalised relative L2
// summed over the batch, as the reference does.
func (c *Config) trainLoss() (func(*autograd.Var, *tensor.Tensor, *tensor.Tensor) (*autograd.Var, error), func(), error) {
	t := c.Task
	if t == nil || t.Loss != "relative_l2" || t.Kind != datasets.DenseField || c.Split == nil || c.Split.Norm == nil || len(c.Split.Norm.YMean) == 0 {
		return nil, func() {}, nil
	}
	m := c.Split.Train.TargetSize()
	l, err := newDecodedLpLoss(c.Backend, c.Split.Norm, m)
	if err != nil {
		return nil, nil, err
	}
	return l.Func, l.Release, nil
}
