package datasets

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/dash-go/dash/datasets/internal/gencache"
)

func TestRandomRotation(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	var mean [9]float64
	const n = 4000
	for range n {
		r := randomRotation(rng)
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				d := 0.0
				for k := 0; k < 3; k++ {
					d += r[i*3+k] * r[j*3+k]
				}
				if want := map[bool]float64{true: 1, false: 0}[i == j]; math.Abs(d-want) > 1e-12 {
					t.Fatalf("R Rᵀ[%d][%d] = %g", i, j, d)
				}
			}
		}
		det := r[0]*(r[4]*r[8]-r[5]*r[7]) - r[1]*(r[3]*r[8]-r[5]*r[6]) + r[2]*(r[3]*r[7]-r[4]*r[6])
		if math.Abs(det-1) > 1e-12 {
			t.Fatalf("det = %g", det)
		}
		for i := range mean {
			mean[i] += r[i] / n
		}
	}
	// uniform on SO(3): every entry has mean 0 (sd 1/√3 per draw)
	for i, m := range mean {
		if math.Abs(m) > 4/math.Sqrt(3*n) {
			t.Errorf("mean of entry %d = %g", i, m)
		}
	}
}

// Rotations act on the grid as they should: about z by 2π·5/60 shifts the
// columns by 5; by π about x maps (θ, φ) to (π−θ, −φ).
func TestProjectSphereRotations(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	img := make([]float64, 28*28)
	for i := range img {
		img[i] = rng.Float64()
	}
	id := [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}
	base := make([]float64, spherePixels)
	projectSphere(img, 28, 28, id, base)
	a := 2 * math.Pi * 5 / SphereSize
	rz := [9]float64{math.Cos(a), -math.Sin(a), 0, math.Sin(a), math.Cos(a), 0, 0, 0, 1}
	rx := [9]float64{1, 0, 0, 0, -1, 0, 0, 0, -1}
	out := make([]float64, spherePixels)
	projectSphere(img, 28, 28, rz, out)
	for j := 0; j < SphereSize; j++ {
		for k := 0; k < SphereSize; k++ {
			if d := math.Abs(out[j*SphereSize+k] - base[j*SphereSize+(k+5)%SphereSize]); d > 1e-9 {
				t.Fatalf("z rotation: (%d,%d) differs by %g", j, k, d)
			}
		}
	}
	projectSphere(img, 28, 28, rx, out)
	for j := 1; j < SphereSize; j++ {
		for k := 0; k < SphereSize; k++ {
			if d := math.Abs(out[j*SphereSize+k] - base[(SphereSize-j)*SphereSize+(SphereSize-k)%SphereSize]); d > 1e-9 {
				t.Fatalf("x rotation: (%d,%d) differs by %g", j, k, d)
			}
		}
	}
	// unrotated: the lower rows (south, touching the plane) see the image,
	// the rows above the equator except the pole row do not
	var south, north float64
	for k := 0; k < SphereSize; k++ {
		for j := 45; j < SphereSize; j++ {
			south += base[j*SphereSize+k]
		}
		for j := 1; j < 30; j++ {
			north += base[j*SphereSize+k]
		}
	}
	if south == 0 || north != 0 {
		t.Errorf("ink south %g, north %g", south, north)
	}
}

// A small slice of sphere-mnist: labels are the MNIST labels of the same
// index, every projected digit keeps ink, samples are rotated differently,
// and the cache returns the same data.
func TestSphereSlice(t *testing.T) {
	task := needData(t, "sphere-mnist")
	if task.Classes != 10 || !slices.Equal(task.InShape, []int{1, 60, 60}) || task.Backbone != "wrn" || !task.Synthetic {
		t.Fatalf("task = %+v", task)
	}
	dir := t.TempDir()
	o := LoadOptions{Limit: 200, TestLimit: 50, ValFraction: -1, CacheDir: dir, Raw: true}
	sp, err := task.Load(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	mdir, _ := MNISTDir()
	mtr, mte, err := loadIDXDir(mdir)
	if err != nil {
		t.Fatal(err)
	}
	for s, c := range []struct {
		d   *Data
		src *idxSet
	}{{sp.Train, mtr}, {sp.Test, mte}} {
		for i := 0; i < c.d.N; i++ {
			if c.d.Labels[i] != int32(c.src.labels[i]) {
				t.Fatalf("set %d sample %d: label %d, MNIST says %d", s, i, c.d.Labels[i], c.src.labels[i])
			}
			ink := 0.0
			for _, v := range c.d.X[i*spherePixels : (i+1)*spherePixels] {
				ink += float64(v)
			}
			if ink < 5 {
				t.Errorf("set %d sample %d: only %g ink on the sphere", s, i, ink)
			}
		}
	}
	// the same digit under two seeds' rotations differs
	a := make([]byte, sphereRecord)
	b := make([]byte, sphereRecord)
	ms := newMNISTSource(mtr)
	if err := sphereSample(ms, 0, 0, 7, a); err != nil {
		t.Fatal(err)
	}
	if err := sphereSample(ms, 1, 0, 7, b); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(a, b) {
		t.Error("two seeds give the same rotation")
	}
	before := gencache.Generated()
	again, err := task.Load(context.Background(), LoadOptions{Limit: 100, TestLimit: 50, ValFraction: -1, CacheDir: dir, Raw: true})
	if err != nil {
		t.Fatal(err)
	}
	if gencache.Generated() != before || !slices.Equal(again.Train.X, sp.Train.X[:100*spherePixels]) {
		t.Error("the second load is not the cached data")
	}
}
