//go:build cgo

package vk

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/dash-go/dash/tensor"
)

// withBindLimit runs f with the device's maxStorageBufferRange lowered to
// bytes (a multiple of the offset alignment): kernels must then split their
// bindings as on a device with that limit (dispatch panics on any binding
// over it). The memory blocks stay as they are.
func withBindLimit(t *testing.T, be *Backend, bytes uint64, f func()) {
	t.Helper()
	if err := be.Sync(); err != nil {
		t.Fatal(err)
	}
	be.c.mu.Lock()
	old := be.c.mem.maxRange
	be.c.mem.maxRange = max(bytes&^(be.c.mem.align-1), 2*be.c.mem.align)
	be.c.mu.Unlock()
	defer func() {
		be.c.mu.Lock()
		be.c.mem.maxRange = old
		be.c.mu.Unlock()
	}()
	f()
	if err := be.Sync(); err != nil {
		t.Fatal(err)
	}
}

// TestRFFTMulSpec: the fused rfft·w with the plain spectrum stored in the
// same pass equals RFFT and ComplexMul on the CPU (even, odd, prime,
// Bluestein and length-1 transforms, w conjugated or not), through the
// global passes and the one-dispatch shared-memory kernel, with the device
// binding limit lowered so that the rows run in many chunks.
func TestRFFTMulSpec(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(51))
	defer func(v int) { fftSharedMax = v }(fftSharedMax)
	for _, sm := range []int{0, 4096} { // global passes; one shared-memory dispatch
		fftSharedMax = sm
		testRFFTMulSpec(t, be, r)
	}
}

func testRFFTMulSpec(t *testing.T, be *Backend, r *rand.Rand) {
	for _, lim := range []uint64{0, 32 << 10} { // 32 KiB: over the tables (w, twiddles), under the data
		for _, n := range []int{1, 2, 16, 15, 97, 1000, 1270} {
			for _, conj := range []bool{false, true} {
				B, C, nf := 3, 5, n/2+1
				x := mkpair(be, randSlice(r, B*C*n, -1, 1))
				w := mkpair(be, randSlice(r, C*nf*2, -1, 1))
				X := mkpair(be, make([]float32, B*C*nf*2))
				Y := mkpair(be, make([]float32, B*C*nf*2))
				run := func() { be.RFFTMulSpec(Y.g, X.g, x.g, w.g, B, C, n, conj) }
				if lim > 0 {
					withBindLimit(t, be, lim, run)
				} else {
					run()
				}
				ref.RFFT(X.c, x.c, B*C, n)
				ref.ComplexMul(Y.c, []int{B, C, nf}, X.c, 0, []int{C * nf, nf, 1}, w.c, 0, []int{0, nf, 1}, conj)
				what := fmt.Sprintf("n=%d conj=%v limit=%d sharedMax=%d", n, conj, lim, fftSharedMax)
				checkRel(t, "rfftmulspec product "+what, readG(be, Y.g), readC(Y.c), 1e-5)
				checkRel(t, "rfftmulspec spectrum "+what, readG(be, X.g), readC(X.c), 1e-5)
				for _, p := range []pair{x, w, X, Y} {
					p.free(be)
				}
			}
		}
	}
}

// TestComplexMulSum: Σ_b a·conj(c) (and a·c) against the CPU's ComplexMul
// then Reduce, over awkward sizes, and with small binding limits that force
// column chunks and, below one column's span, blocks of rows accumulated.
func TestComplexMulSum(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(52))
	cases := []struct {
		batch, n int
		lim      uint64
	}{
		{1, 1, 0}, {3, 7, 0}, {32, 513, 0}, {2, 70001, 0}, {5, 257, 0},
		{7, 1000, 8192},  // column chunks (one column spans 7·8 bytes)
		{600, 97, 4096},  // one column's span is over the limit: row blocks
		{33, 1031, 2048}, // both: row blocks of 1 row, column chunks
	}
	for _, c := range cases {
		for _, conj := range []bool{true, false} {
			a := mkpair(be, randSlice(r, 2*c.batch*c.n, -1, 1))
			b := mkpair(be, randSlice(r, 2*c.batch*c.n, -1, 1))
			d := mkpair(be, randSlice(r, 2*c.n, -1, 1)) // overwritten
			run := func() { be.ComplexMulSum(d.g, a.g, b.g, c.batch, c.n, conj) }
			if c.lim > 0 {
				withBindLimit(t, be, c.lim, run)
			} else {
				run()
			}
			p := ref.Alloc(2 * c.batch * c.n)
			st := []int{c.n, 1}
			ref.ComplexMul(p, []int{c.batch, c.n}, a.c, 0, st, b.c, 0, st, conj)
			ref.Reduce(tensor.ReduceSum, d.c, p, 1, c.batch, 2*c.n)
			checkRel(t, fmt.Sprintf("complexmulsum batch=%d n=%d conj=%v limit=%d", c.batch, c.n, conj, c.lim),
				readG(be, d.g), readC(d.c), 1e-5)
			for _, q := range []pair{a, b, d} {
				q.free(be)
			}
		}
	}
}
