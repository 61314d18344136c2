package datasets

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/dash-go/dash/datasets/internal/gencache"
)

// Spherical MNIST ("sphere-mnist"), the stand-in for NAS-Bench-360's
// Spherical (CIFAR-100 projected onto the sphere), built as in Cohen et
// al., "Spherical CNNs" (ICLR 2018) and their gendata.py: each real MNIST
// digit is projected onto the unit sphere and sampled on the
// Driscoll–Healy grid of bandwidth 30, 60×60 points
//
//	θ_j = πj/60 (rows), φ_k = 2πk/60 (columns),
//
// after a uniformly random rotation of the sphere (a seeded unit
// quaternion per sample; train and test both rotated: the "R/R" setting).
// The projection is theirs: the sphere is lifted to rest on the image
// plane z = 0 (its south pole touching the plane), each grid point p is
// projected along the line from the point (0, 0, 2.001) just above the
// north pole, and the image covers the square [−1.5, 1.5]² of the plane,
// sampled bilinearly (zero outside). One channel; values as bytes.
const (
	SphereSeed    = 0
	SphereTrain   = 60000
	SphereTest    = 10000
	SphereSize    = 60 // 2·bandwidth
	sphereVersion = 1
	spherePixels  = SphereSize * SphereSize
	sphereRecord  = spherePixels + 1
	sphereSZ      = 2 + 1e-3
	sphereHalf    = 1.5 // half-width of the image on the plane
)

func init() {
	mustRegister(&Task{
		Name: "sphere-mnist",
		Description: "STAND-IN for Spherical CIFAR-100: MNIST digits projected onto the sphere, randomly rotated, " +
			"sampled on the 60×60 Driscoll–Healy grid (Spherical MNIST, Cohen et al. 2018), 1×60×60, 10 classes",
		Source:    "MNIST (Go module " + GoMNISTModule + "@" + GoMNISTVersion + ") projected as in Spherical CNNs",
		Family:    "spherical 2-D point",
		StandsFor: "Spherical (stand-in: Spherical MNIST, 1 channel, 10 classes)",
		Licence:   "CC BY-SA 3.0 (MNIST), projected by our code",
		Dims:      2,
		InShape:   []int{1, SphereSize, SphereSize},
		Kind:      ClassIndex,
		Classes:   10,
		Loss:      "cross_entropy",
		Metric:    "error",
		Kernels:   slices.Clone(kernelsDefault),
		Dilations: slices.Clone(dilationsDefault),
		BatchSize: 64,
		Backbone:  "wrn",
		Synthetic: true,
		TrainSize: SphereTrain,
		TestSize:  SphereTest,
		Present:   func() (bool, string) { return mnistDerivedPresent(sphereKey("train", SphereTrain)) },
		Load: func(ctx context.Context, o LoadOptions) (*Split, error) {
			sp, err := loadMNISTDerived(ctx, o, sphereKey, SphereTrain, SphereTest, sphereSample, sphereData)
			if err != nil {
				return nil, fmt.Errorf("loading sphere-mnist: %w", err)
			}
			return sp, nil
		},
	})
}

func sphereKey(stream string, n int) gencache.Key {
	return gencache.Key{Task: "sphere-mnist", Stream: stream, N: n, Seed: SphereSeed, Version: sphereVersion, RecordSize: sphereRecord}
}

// randomRotation returns a uniformly distributed rotation matrix (row
// major) from a random unit quaternion (Shoemake, Graphics Gems III).
func randomRotation(rng *rand.Rand) [9]float64 {
	u1, u2, u3 := rng.Float64(), 2*math.Pi*rng.Float64(), 2*math.Pi*rng.Float64()
	a, b := math.Sqrt(1-u1), math.Sqrt(u1)
	w, x, y, z := a*math.Sin(u2), a*math.Cos(u2), b*math.Sin(u3), b*math.Cos(u3)
	return [9]float64{
		1 - 2*(y*y+z*z), 2 * (x*y - z*w), 2 * (x*z + y*w),
		2 * (x*y + z*w), 1 - 2*(x*x+z*z), 2 * (y*z - x*w),
		2 * (x*z - y*w), 2 * (y*z + x*w), 1 - 2*(x*x+y*y),
	}
}

// projectSphere samples a rows×cols image (values in [0,1]) on the
// Driscoll–Healy grid after rotating the grid by rot: out[j·60+k] is the
// image at the projection of rot·p(θ_j, φ_k).
func projectSphere(img []float64, rows, cols int, rot [9]float64, out []float64) {
	for j := 0; j < SphereSize; j++ {
		th := math.Pi * float64(j) / SphereSize
		for k := 0; k < SphereSize; k++ {
			ph := 2 * math.Pi * float64(k) / SphereSize
			p := [3]float64{math.Sin(th) * math.Cos(ph), math.Sin(th) * math.Sin(ph), math.Cos(th)}
			x := rot[0]*p[0] + rot[1]*p[1] + rot[2]*p[2]
			y := rot[3]*p[0] + rot[4]*p[1] + rot[5]*p[2]
			z := rot[6]*p[0] + rot[7]*p[1] + rot[8]*p[2] + 1
			t := -z / (z - sphereSZ)
			qx, qy := x+t*x, y+t*y
			// plane square [−1.5, 1.5]² → pixel coordinates, centres at integers
			c := (qx+sphereHalf)/(2*sphereHalf)*float64(cols) - 0.5
			r := (qy+sphereHalf)/(2*sphereHalf)*float64(rows) - 0.5
			out[j*SphereSize+k] = bilinear(img, rows, cols, r, c)
		}
	}
}

// sphereSample projects MNIST image i of the source set with its own
// random rotation. The record is the 60×60 image (bytes) and the label.
func sphereSample(src *mnistSource, seed int64, stream, i int, rec []byte) error {
	if i >= len(src.set.labels) {
		return fmt.Errorf("sample %d: the MNIST set has %d images", i, len(src.set.labels))
	}
	rot := randomRotation(sampleRNG(seed, 0x5fe7e000, stream, i))
	out := make([]float64, spherePixels)
	projectSphere(src.image(i), src.set.rows, src.set.cols, rot, out)
	for j, v := range out {
		rec[j] = byte(math.Round(255 * math.Min(1, math.Max(0, v))))
	}
	rec[spherePixels] = src.set.labels[i]
	return nil
}

// sphereData lays out n records as Data (values in [0,1]).
func sphereData(p []byte, n int) *Data {
	d := &Data{X: make([]float32, n*spherePixels), XShape: []int{1, SphereSize, SphereSize}, Labels: make([]int32, n), N: n}
	for i := 0; i < n; i++ {
		rec := p[i*sphereRecord : (i+1)*sphereRecord]
		for j, v := range rec[:spherePixels] {
			d.X[i*spherePixels+j] = float32(v) / 255
		}
		d.Labels[i] = int32(rec[spherePixels])
	}
	return d
}
