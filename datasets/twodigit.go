package datasets

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/dash-go/dash/datasets/internal/gencache"
)

// Two-digit MNIST ("mnist2-100"): a CIFAR-100-shaped stand-in, 3×32×32
// colour images of 100 real classes built from the real MNIST digits.
//
// Sample i of a set draws its class c uniformly from 0…99 and two MNIST
// images from the matching source set (training images for the training
// pool, test images for the test set, so no digit image is shared between
// them): one of digit c/10 (the tens, left) and one of digit c%10 (the
// units, right). Each digit is cropped to rows 2…25 and columns 4…23 of its
// 28×28 image (the box MNIST centres its digits in), resized bilinearly to
// 20 rows × 16 columns, moved up or down by a random 0…2 pixels, and drawn
// on a black 32×32 canvas, the tens in columns 0…15 and the units in
// 16…31, rows 6…25 before the shift. Each digit is tinted with its own
// random colour (each RGB component uniform in [0.3, 1], then scaled so the
// largest is 1): pixel = grey × tint. Values are stored as bytes (v·255
// rounded), like MNIST's own.
const (
	TwoDigitSeed     = 0
	TwoDigitTrain    = 50000 // CIFAR-100's training set size
	TwoDigitTest     = 10000
	twoDigitSide     = 32
	twoDigitVersion  = 1
	twoDigitPixels   = 3 * twoDigitSide * twoDigitSide
	twoDigitRecord   = twoDigitPixels + 1 + 4 // image, class, two source indices
	twoDigitDigitH   = 20
	twoDigitDigitW   = 16
	twoDigitTop      = 6
	twoDigitMaxShift = 2
)

func init() {
	mustRegister(&Task{
		Name:        "mnist2-100",
		Description: "STAND-IN for CIFAR-100 (same shape): two-digit MNIST, 100 classes (tens digit left, units right), colour-tinted 3×32×32",
		Source:      "two-digit images composed from MNIST (Go module " + GoMNISTModule + "@" + GoMNISTVersion + ")",
		Family:      "vision 2-D point",
		StandsFor:   "CIFAR-100 (stand-in: same shape and 100 classes, two-digit MNIST)",
		Licence:     "CC BY-SA 3.0 (MNIST), composed by our code",
		Dims:        2,
		InShape:     []int{3, twoDigitSide, twoDigitSide},
		Kind:        ClassIndex,
		Classes:     100,
		Loss:        "cross_entropy",
		Metric:      "error",
		Kernels:     slices.Clone(kernelsDefault),
		Dilations:   slices.Clone(dilationsDefault),
		BatchSize:   64,
		Backbone:    "wrn",
		Synthetic:   true,
		TrainSize:   TwoDigitTrain,
		TestSize:    TwoDigitTest,
		Present:     func() (bool, string) { return mnistDerivedPresent(twoDigitKey("train", TwoDigitTrain)) },
		Load: func(ctx context.Context, o LoadOptions) (*Split, error) {
			sp, err := loadMNISTDerived(ctx, o, twoDigitKey, TwoDigitTrain, TwoDigitTest, twoDigitSample, twoDigitData)
			if err != nil {
				return nil, fmt.Errorf("loading mnist2-100: %w", err)
			}
			return sp, nil
		},
	})
}

func twoDigitKey(stream string, n int) gencache.Key {
	return gencache.Key{Task: "mnist2-100", Stream: stream, N: n, Seed: TwoDigitSeed, Version: twoDigitVersion, RecordSize: twoDigitRecord}
}

// mnistDerivedPresent is Present for a task generated from MNIST.
func mnistDerivedPresent(k gencache.Key) (bool, string) {
	if _, err := MNISTDir(); err != nil {
		return false, "needs MNIST: " + err.Error()
	}
	return generatedPresent(k)
}

// mnistSource is one MNIST set with its images grouped by digit.
type mnistSource struct {
	set     *idxSet
	byDigit [10][]int
}

func newMNISTSource(s *idxSet) *mnistSource {
	m := &mnistSource{set: s}
	for i, l := range s.labels {
		m.byDigit[l] = append(m.byDigit[l], i)
	}
	return m
}

// image returns MNIST image i as 28×28 values in [0,1].
func (m *mnistSource) image(i int) []float64 {
	n := m.set.rows * m.set.cols
	out := make([]float64, n)
	for j, v := range m.set.images[i*n : (i+1)*n] {
		out[j] = float64(v) / 255
	}
	return out
}

// derivedSample fills rec with sample i of a set drawn from src.
type derivedSample func(src *mnistSource, seed int64, stream, i int, rec []byte) error

// loadMNISTDerived generates (or reads from the cache) a task derived from
// MNIST: Limit (or nTrain) training-pool samples from the MNIST training
// images and TestLimit (or nTest) test samples from the MNIST test images,
// the validation carve from the pool, global mean/std from the training
// split.
func loadMNISTDerived(ctx context.Context, o LoadOptions, key func(string, int) gencache.Key, nTrain, nTest int,
	sample derivedSample, toData func(p []byte, n int) *Data) (*Split, error) {
	dir, err := MNISTDir()
	if err != nil {
		return nil, err
	}
	tr, te, err := loadIDXDir(dir)
	if err != nil {
		return nil, err
	}
	if o.Limit > 0 {
		nTrain = o.Limit
	}
	if o.TestLimit > 0 {
		nTest = o.TestLimit
	}
	var sets [2]*Data
	for s, src := range []*idxSet{tr, te} {
		k := key([]string{"train", "test"}[s], []int{nTrain, nTest}[s])
		ms := newMNISTSource(src)
		p, _, err := gencache.Load(ctx, k, cacheOptions(o), func(i int, rec []byte) error {
			return sample(ms, k.Seed, s, i, rec)
		})
		if err != nil {
			return nil, err
		}
		sets[s] = toData(p, k.N)
	}
	return generatedSplit(sets[0], sets[1], o, false, false)
}

// sampleRNG is the random stream of sample i of a set of a generated task.
func sampleRNG(seed int64, salt uint64, stream, i int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed)^salt, uint64(stream)<<40|uint64(i)))
}

// bilinear samples a rows×cols image at (y, x) in pixel coordinates
// (pixel centres at integers), 0 outside.
func bilinear(img []float64, rows, cols int, y, x float64) float64 {
	y0, x0 := math.Floor(y), math.Floor(x)
	fy, fx := y-y0, x-x0
	at := func(r, c int) float64 {
		if r < 0 || r >= rows || c < 0 || c >= cols {
			return 0
		}
		return img[r*cols+c]
	}
	r, c := int(y0), int(x0)
	return (1-fy)*((1-fx)*at(r, c)+fx*at(r, c+1)) + fy*((1-fx)*at(r+1, c)+fx*at(r+1, c+1))
}

// twoDigitSample composes sample i: see the package-level description.
// The record is the image (3·32·32 bytes), the class, and the two MNIST
// source indices (uint16 little endian each).
func twoDigitSample(src *mnistSource, seed int64, stream, i int, rec []byte) error {
	rng := sampleRNG(seed, 0x2d161700, stream, i)
	class := rng.IntN(100)
	img := make([]float64, twoDigitPixels)
	const plane = twoDigitSide * twoDigitSide
	for d, digit := range []int{class / 10, class % 10} {
		pool := src.byDigit[digit]
		if len(pool) == 0 {
			return fmt.Errorf("no MNIST image of digit %d", digit)
		}
		k := pool[rng.IntN(len(pool))]
		if k > math.MaxUint16 {
			return fmt.Errorf("MNIST index %d does not fit the record", k)
		}
		binary.LittleEndian.PutUint16(rec[twoDigitPixels+1+2*d:], uint16(k))
		var tint [3]float64
		mx := 0.0
		for c := range tint {
			tint[c] = 0.3 + 0.7*rng.Float64()
			mx = math.Max(mx, tint[c])
		}
		shift := rng.IntN(2*twoDigitMaxShift+1) - twoDigitMaxShift
		gray := src.image(k)
		for r := 0; r < twoDigitDigitH; r++ {
			// crop rows 2…25 (24) and columns 4…23 (20) to 20×16
			y := 2 + (float64(r)+0.5)*24/twoDigitDigitH - 0.5
			for c := 0; c < twoDigitDigitW; c++ {
				x := 4 + (float64(c)+0.5)*20/twoDigitDigitW - 0.5
				v := bilinear(gray, src.set.rows, src.set.cols, y, x)
				p := (twoDigitTop+shift+r)*twoDigitSide + d*twoDigitDigitW + c
				for ch := range tint {
					img[ch*plane+p] = v * tint[ch] / mx
				}
			}
		}
	}
	for j, v := range img {
		rec[j] = byte(math.Round(255 * math.Min(1, math.Max(0, v))))
	}
	rec[twoDigitPixels] = byte(class)
	return nil
}

// twoDigitData lays out n records as Data (values in [0,1]).
func twoDigitData(p []byte, n int) *Data {
	d := &Data{X: make([]float32, n*twoDigitPixels), XShape: []int{3, twoDigitSide, twoDigitSide}, Labels: make([]int32, n), N: n}
	for i := 0; i < n; i++ {
		rec := p[i*twoDigitRecord : (i+1)*twoDigitRecord]
		for j, v := range rec[:twoDigitPixels] {
			d.X[i*twoDigitPixels+j] = float32(v) / 255
		}
		d.Labels[i] = int32(rec[twoDigitPixels])
	}
	return d
}
