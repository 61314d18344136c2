//go:build cgo

package vk

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
)

// reduceCase runs every op on src [outer][n][inner] on both backends.
func reduceCase(t *testing.T, be *Backend, what string, data []float32, outer, n, inner int) {
	t.Helper()
	src := mkpair(be, data)
	defer src.free(be)
	for op := tensor.ReduceSum; op <= tensor.ReduceArgMin; op++ {
		dst := mkpair(be, make([]float32, outer*inner))
		be.Reduce(op, dst.g, src.g, outer, n, inner)
		ref.Reduce(op, dst.c, src.c, outer, n, inner)
		w := fmt.Sprintf("%s op %d [%d][%d][%d]", what, op, outer, n, inner)
		if op >= tensor.ReduceArgMax {
			dst.checkInt(t, be, w)
		} else {
			dst.check(t, be, w, 1e-5*math.Sqrt(float64(n)), 1e-5)
		}
		dst.free(be)
	}
}

// TestReduceVariants: the subgroup and the shared-memory reductions, with
// the axis split over several workgroups (full reductions of long axes),
// NaNs (the CPU's semantics: a NaN first element wins max/min, other NaNs
// are skipped; arg ops take the first non-NaN extreme) and ties across
// parts (the first index wins).
func TestReduceVariants(t *testing.T) {
	be := shared(t)
	be.c.mu.Lock()
	sg := be.subgroupShuffleOK()
	be.c.mu.Unlock()
	t.Logf("subgroup shuffles: %v (subgroup size %d), workgroup %d", sg, be.c.info.SubgroupSize, be.reduceWG())
	r := rand.New(rand.NewSource(61))
	shapes := [][3]int{{1, 1, 1}, {1, 2049, 1}, {1, 100003, 1}, {7, 3001, 1}, {3, 20011, 2}, {2, 65537, 3}, {1, 1 << 20, 1}, {1000, 5000, 1}}
	for _, noSG := range []bool{false, true} {
		t.Run(fmt.Sprintf("noSubgroup=%v", noSG), func(t *testing.T) {
			defer func(v bool) { reduceNoSubgroup = v }(reduceNoSubgroup)
			reduceNoSubgroup = noSG
			for _, sh := range shapes {
				reduceCase(t, be, "random", randSlice(r, sh[0]*sh[1]*sh[2], -1, 1), sh[0], sh[1], sh[2])
			}
			n := 50000
			nan := float32(math.NaN())
			// ties in different parts: the maximum 2 at 10, 30000, 49999
			tie := randSlice(r, n, -1, 1)
			tie[10], tie[30000], tie[49999] = 2, 2, 2
			tie[20], tie[40000] = -2, -2
			reduceCase(t, be, "ties", tie, 1, n, 1)
			// NaN first: max/min NaN, argmax/argmin skip it
			x := randSlice(r, n, -1, 1)
			x[0] = nan
			x[4000] = nan
			reduceCase(t, be, "nan first", x, 1, n, 1)
			// NaNs elsewhere are skipped
			y := randSlice(r, n, -1, 1)
			for i := 1; i < n; i += 97 {
				y[i] = nan
			}
			reduceCase(t, be, "nan inside", y, 1, n, 1)
			// all NaN: index 0
			z := make([]float32, 3000)
			for i := range z {
				z[i] = nan
			}
			reduceCase(t, be, "all nan", z, 1, 3000, 1)
		})
	}
}

// TestReduceSplitBindings: reductions of arrays larger than the (lowered)
// binding limit: chunks of outer slices, and axis rows in blocks when one
// slice is larger than a binding.
func TestReduceSplitBindings(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(62))
	for _, sh := range [][3]int{{100, 50, 7}, {5, 10007, 3}, {1, 50000, 1}, {3, 40000, 1}, {2, 1000, 300}, {70001, 2, 1}} {
		data := randSlice(r, sh[0]*sh[1]*sh[2], -1, 1)
		withBindLimit(t, be, 64<<10, func() { reduceCase(t, be, "64 KiB bindings", data, sh[0], sh[1], sh[2]) })
	}
}

// TestReduceGradients: forward and gradient of the autograd ops built on
// reductions (sum, mean, log-softmax: max and sum over an axis) on Vulkan
// against the CPU backend, over long axes (split reductions) and awkward
// shapes.
func TestReduceGradients(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(63))
	for _, sh := range [][2]int{{1, 1}, {7, 3001}, {1, 100003}, {4099, 5}, {3, 2}} {
		data := randSlice(r, sh[0]*sh[1], -3, 3)
		wts := randSlice(r, sh[0]*sh[1], -1, 1)
		type res struct{ loss, grad []float32 }
		run := func(b tensor.Backend) res {
			x := autograd.Leaf(tensor.FromFloat32(b, data, sh[0], sh[1]), true)
			w := autograd.Const(tensor.FromFloat32(b, wts, sh[0], sh[1]))
			ls := autograd.LogSoftmax(x, 1)
			l := autograd.Add(autograd.Sum(autograd.Mul(ls, w), false), autograd.Mean(autograd.Mul(x, w), false, 0, 1))
			l = autograd.Add(l, autograd.Sum(autograd.Sum(autograd.Mul(x, x), true, 0), false))
			autograd.Backward(l)
			out := res{l.Value.Float32s(), x.Grad.Float32s()}
			autograd.Release(l)
			return out
		}
		got, want := run(be), run(ref)
		what := fmt.Sprintf("%v", sh)
		checkRel(t, "reduce loss "+what, got.loss, want.loss, 1e-5)
		checkRel(t, "reduce grad "+what, got.grad, want.grad, 1e-5)
	}
}
