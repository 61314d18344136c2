package datasets

import (
	"fmt"
	"math"
)

// NormEps is added to standard deviations, as FNO's UnitGaussianNormalizer
// does.
const NormEps = 1e-5

// Normalizer holds mean/std statistics computed on a training split. Each of
// the X and Y statistics has either one entry (a global mean/std) or one per
// element of the per-sample shape (pointwise statistics, as Darcy uses).
// Normalising maps v to (v − mean)/(std + NormEps); elements that are constant
// over the training set (std < 1e-6, e.g. Darcy's coordinate channels) are
// left unchanged (mean 0, std 1) in X; in Y they keep their constant as
// mean with std 0, so a decoded prediction there is that constant (as FNO's
// normaliser does) instead of the raw network output.
type Normalizer struct {
	XMean, XStd []float32
	YMean, YStd []float32 // nil when Y is not normalised (class targets)
}

// Stats computes statistics on train. pointwise selects per-element (true)
// or global (false) statistics for X; withY also computes per-element
// statistics for dense Y targets.
func Stats(train *Data, pointwise, withY bool) *Normalizer {
	n := &Normalizer{}
	n.XMean, n.XStd = stats(train.X, train.N, train.SampleSize(), pointwise)
	if withY && train.Y != nil {
		n.YMean, n.YStd = stats(train.Y, train.N, train.TargetSize(), true)
		constantTargets(train.Y, n.YMean, n.YStd)
	}
	return n
}

// stats returns mean and sample standard deviation (n−1), per element of a
// sample of size m, or globally.
func stats(v []float32, n, m int, pointwise bool) (mean, std []float32) {
	if !pointwise {
		var s, ss float64
		for _, x := range v {
			s += float64(x)
		}
		cnt := float64(len(v))
		mu := s / math.Max(cnt, 1)
		for _, x := range v {
			d := float64(x) - mu
			ss += d * d
		}
		sd := math.Sqrt(ss / math.Max(cnt-1, 1))
		if sd < 1e-6 {
			return []float32{0}, []float32{1}
		}
		return []float32{float32(mu)}, []float32{float32(sd)}
	}
	sum := make([]float64, m)
	for i := 0; i < n; i++ {
		row := v[i*m : (i+1)*m]
		for j, x := range row {
			sum[j] += float64(x)
		}
	}
	for j := range sum {
		sum[j] /= math.Max(float64(n), 1)
	}
	sq := make([]float64, m)
	for i := 0; i < n; i++ {
		row := v[i*m : (i+1)*m]
		for j, x := range row {
			d := float64(x) - sum[j]
			sq[j] += d * d
		}
	}
	mean = make([]float32, m)
	std = make([]float32, m)
	for j := range sq {
		sd := math.Sqrt(sq[j] / math.Max(float64(n-1), 1))
		if sd < 1e-6 {
			mean[j], std[j] = 0, 1
			continue
		}
		mean[j], std[j] = float32(sum[j]), float32(sd)
	}
	return mean, std
}

func encode(v, mean, std []float32) {
	if len(mean) == 1 {
		m, s := mean[0], std[0]
		if m == 0 && s == 1 {
			return
		}
		inv := 1 / (s + NormEps)
		for i := range v {
			v[i] = (v[i] - m) * inv
		}
		return
	}
	m := len(mean)
	for i := 0; i+m <= len(v); i += m {
		row := v[i : i+m]
		for j := range row {
			if std[j] == 1 && mean[j] == 0 {
				continue
			}
			row[j] = (row[j] - mean[j]) / (std[j] + NormEps)
		}
	}
}

func decode(v, mean, std []float32) {
	if len(mean) == 1 {
		m, s := mean[0], std[0]
		if m == 0 && s == 1 {
			return
		}
		for i := range v {
			v[i] = v[i]*(s+NormEps) + m
		}
		return
	}
	m := len(mean)
	for i := 0; i+m <= len(v); i += m {
		row := v[i : i+m]
		for j := range row {
			if std[j] == 1 && mean[j] == 0 {
				continue
			}
			row[j] = row[j]*(std[j]+NormEps) + mean[j]
		}
	}
}

func checkLen(what string, v []float32, stat []float32) error {
	if len(stat) > 1 && len(v)%len(stat) != 0 {
		return fmt.Errorf("datasets: %s has %d values, not a multiple of the statistics' %d", what, len(v), len(stat))
	}
	return nil
}

// EncodeX normalises inputs in place (any number of samples).
func (n *Normalizer) EncodeX(x []float32) error {
	if n == nil || n.XMean == nil {
		return nil
	}
	if err := checkLen("X", x, n.XMean); err != nil {
		return err
	}
	encode(x, n.XMean, n.XStd)
	return nil
}

// EncodeY normalises dense targets in place (no-op without Y statistics).
func (n *Normalizer) EncodeY(y []float32) error {
	if n == nil || n.YMean == nil {
		return nil
	}
	if err := checkLen("Y", y, n.YMean); err != nil {
		return err
	}
	encode(y, n.YMean, n.YStd)
	return nil
}

// DecodeY maps normalised dense outputs or targets back to physical units in
// place (no-op without Y statistics).
func (n *Normalizer) DecodeY(y []float32) error {
	if n == nil || n.YMean == nil {
		return nil
	}
	if err := checkLen("Y", y, n.YMean); err != nil {
		return err
	}
	decode(y, n.YMean, n.YStd)
	return nil
}

// DecodeX undoes EncodeX in place.
func (n *Normalizer) DecodeX(x []float32) error {
	if n == nil || n.XMean == nil {
		return nil
	}
	if err := checkLen("X", x, n.XMean); err != nil {
		return err
	}
	decode(x, n.XMean, n.XStd)
	return nil
}

// Apply normalises every split of s in place with s.Norm.
func (s *Split) Apply() error {
	for _, d := range []*Data{s.Train, s.Val, s.Test} {
		if d == nil {
			continue
		}
		if err := s.Norm.EncodeX(d.X); err != nil {
			return err
		}
		if d.Y != nil {
			if err := s.Norm.EncodeY(d.Y); err != nil {
				return err
			}
		}
	}
	return nil
}

// RelativeL2 returns the mean over samples of ‖pred − target‖₂ / ‖target‖₂
// (each sample of size m), the Darcy metric. Both must be de-normalised.
func RelativeL2(pred, target []float32, m int) float64 {
	if m <= 0 || len(pred) != len(target) || len(pred)%m != 0 {
		return math.NaN()
	}
	n := len(pred) / m
	total := 0.0
	for i := 0; i < n; i++ {
		var num, den float64
		for j := i * m; j < (i+1)*m; j++ {
			d := float64(pred[j]) - float64(target[j])
			num += d * d
			den += float64(target[j]) * float64(target[j])
		}
		if den > 0 {
			total += math.Sqrt(num / den)
		}
	}
	return total / math.Max(float64(n), 1)
}

// constantTargets gives pointwise Y statistics of constant elements (std
// marked 1 by stats) their constant value as mean and std 0: encoding maps
// them to 0 and decoding returns the constant, whatever the network outputs
// there (Darcy's Dirichlet boundary).
func constantTargets(y, mean, std []float32) {
	if len(mean) <= 1 || len(y) < len(mean) {
		return
	}
	for j := range mean {
		if std[j] == 1 && mean[j] == 0 {
			mean[j], std[j] = y[j], 0
		}
	}
}

// generatedSplit carves the validation split from a generated task's
// training pool (o.Seed, o.ValFraction), takes the normalisation statistics
// from the training split (Stats(train, pointwise, withY)) and, unless
// o.Raw, applies them.
func generatedSplit(pool, test *Data, o LoadOptions, pointwise, withY bool) (*Split, error) {
	train, val := splitTrain(pool, LoadOptions{Seed: o.Seed, ValFraction: o.ValFraction})
	sp := &Split{Train: train, Val: val, Test: test}
	sp.Norm = Stats(sp.Train, pointwise, withY)
	if !o.Raw {
		if err := sp.Apply(); err != nil {
			return nil, err
		}
	}
	return sp, nil
}
