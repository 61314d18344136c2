package optim

import (
	"fmt"
	"math"
	"sort"
)

// Schedule gives the learning-rate multiplier at a point of training,
// measured in epochs (fractional: epoch e, step s of n is e + s/n). A
// schedule is a pure function of that position, so a resumed run continues
// it exactly from the saved epoch and step.
type Schedule interface {
	Factor(epoch float64) float64
}

// Constant is the multiplier 1.
type Constant struct{}

// Factor returns 1.
func (Constant) Factor(float64) float64 { return 1 }

// StepLR multiplies by Gamma at each milestone epoch (counted in whole
// epochs, as PyTorch's MultiStepLR stepped once per epoch): DASH retrains
// with ×0.2 at 60/120/160 (2-D) or 30/60/90/120/160 (1-D).
type StepLR struct {
	Milestones []int
	Gamma      float64
}

// Factor returns Gamma^(number of milestones ≤ ⌊epoch⌋).
func (s StepLR) Factor(epoch float64) float64 {
	e := int(math.Floor(epoch))
	n := 0
	for _, m := range s.Milestones {
		if e >= m {
			n++
		}
	}
	return math.Pow(s.Gamma, float64(n))
}

// NewStepLR validates and returns a step schedule.
func NewStepLR(milestones []int, gamma float64) (StepLR, error) {
	if !sort.IntsAreSorted(milestones) {
		return StepLR{}, fmt.Errorf("optim: step schedule milestones %v are not increasing", milestones)
	}
	if gamma <= 0 {
		return StepLR{}, fmt.Errorf("optim: step schedule gamma %v, want > 0", gamma)
	}
	return StepLR{Milestones: milestones, Gamma: gamma}, nil
}

// Cosine anneals from 1 to MinFactor over Epochs (per step, smoothly):
// MinFactor + (1−MinFactor)·(1+cos(π·epoch/Epochs))/2, then MinFactor.
type Cosine struct {
	Epochs    float64
	MinFactor float64
}

// Factor returns the cosine multiplier.
func (c Cosine) Factor(epoch float64) float64 {
	if c.Epochs <= 0 || epoch >= c.Epochs {
		return c.MinFactor
	}
	return c.MinFactor + (1-c.MinFactor)*(1+math.Cos(math.Pi*epoch/c.Epochs))/2
}

// Warmup ramps linearly from Start to 1 over Epochs, then follows Then
// (nil: constant), shifted so that Then starts at epoch 0 after the warmup
// when Shift is set, or at the absolute epoch otherwise.
type Warmup struct {
	Epochs float64
	Start  float64
	Then   Schedule
	Shift  bool
}

// Factor returns the warmup multiplier times the wrapped schedule's.
func (w Warmup) Factor(epoch float64) float64 {
	inner := 1.0
	if w.Then != nil {
		e := epoch
		if w.Shift {
			e = max(epoch-w.Epochs, 0)
		}
		inner = w.Then.Factor(e)
	}
	if w.Epochs > 0 && epoch < w.Epochs {
		return (w.Start + (1-w.Start)*epoch/w.Epochs) * inner
	}
	return inner
}

// Product multiplies several schedules.
type Product []Schedule

// Factor returns the product of the factors.
func (p Product) Factor(epoch float64) float64 {
	f := 1.0
	for _, s := range p {
		f *= s.Factor(epoch)
	}
	return f
}

// Stretch follows Then on another time scale: Factor(e) = Then.Factor(e·Scale).
// A short training of n epochs follows an N-epoch schedule compressed to
// its length with Scale N/n: a ×0.2 step after epoch 4 of 6 comes after
// two thirds of the short training's steps.
type Stretch struct {
	Then  Schedule
	Scale float64
}

// Factor returns Then's multiplier at epoch·Scale.
func (s Stretch) Factor(epoch float64) float64 {
	return s.Then.Factor(epoch * s.Scale)
}
