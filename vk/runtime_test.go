//go:build cgo

package vk

import (
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"

	"github.com/dash-go/dash/internal/testenv"
	"github.com/dash-go/dash/tensor"
)

// Buffers larger than maxStorageBufferRange: transfers work, contiguous
// kernels are split over sub-range bindings, and a kernel that cannot split
// fails with a clear message naming the size and the limit.
func TestLargerThanOneBinding(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates over 3×128 MiB")
	}
	be := newTestBackend(t, Options{})
	lim := be.Context().Info().MaxStorageBufferRange
	if lim > 512<<20 {
		testenv.Skip(t, "maxStorageBufferRange is %s: splitting is exercised only on devices with a limit of at most 512 MiB (lavapipe: 128 MiB)", fmtBytes(lim))
	}
	n := int(lim/4) + 1000
	b := be.Alloc(n)
	be.Fill(b, 0, n, 2)
	be.Fill(b, n-10, 10, 3)
	got := make([]float32, 10)
	be.ReadFloat32(b, n-10, got)
	if got[9] != 3 {
		t.Fatalf("fill at the end of a large buffer: %v", got)
	}
	be.Unary(tensor.OpSquare, b, b, n, 0, 0)
	c := be.Alloc(n)
	be.Binary(tensor.OpAdd, c, []int{n}, b, 0, []int{1}, b, 0, []int{1})
	be.Binary(tensor.OpMul, c, []int{n}, c, 0, []int{1}, b, 5, []int{0}) // c = 2b·b[5]
	be.Random(c, 1, n-1, tensor.Uniform, 7, 0, 1)
	be.ReadFloat32(b, n-3, got[:3])
	if got[0] != 9 || got[2] != 9 {
		t.Errorf("split Unary: tail %v, want 9", got[:3])
	}
	be.ReadFloat32(b, 0, got[:3])
	if got[0] != 4 {
		t.Errorf("split Unary: head %v, want 4", got[:3])
	}
	cr := ref.Alloc(n)
	ref.Random(cr, 1, n-1, tensor.Uniform, 7, 0, 1)
	want, gotc := make([]float32, 4), make([]float32, 4)
	be.ReadFloat32(c, 0, gotc[:1])
	if gotc[0] != 32 { // (4+4)·b[5], untouched by Random
		t.Errorf("split Binary: c[0] = %g, want 32", gotc[0])
	}
	for _, at := range []int{1, n / 2, n - 4} {
		ref.ReadFloat32(cr, at, want)
		be.ReadFloat32(c, at, gotc)
		compare(t, fmt.Sprintf("split Random at %d", at), gotc, want, 0, 0)
	}
	func() {
		defer func() {
			r := recover()
			msg := fmt.Sprint(r)
			if r == nil || !strings.Contains(msg, "maxStorageBufferRange") {
				t.Errorf("strided Binary on a %d-element buffer: recovered %v, want a maxStorageBufferRange error", n, r)
			}
			t.Logf("error: %s", msg)
		}()
		half := n / 2
		be.Binary(tensor.OpAdd, c, []int{2, half}, b, 0, []int{1, 2}, b, 0, []int{half, 1})
	}()
	be.Free(b)
	be.Free(c)
}

// Several goroutines share one device; each checks its own results.
func TestConcurrentUse(t *testing.T) {
	be := newTestBackend(t, Options{BatchSize: 16})
	var wg sync.WaitGroup
	errs := make(chan error, 6*20)
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(g)))
			for it := 0; it < 20; it++ {
				n := 1 + r.Intn(5000)
				x := randSlice(r, n, -1, 1)
				a, b := be.Alloc(n), be.Alloc(n)
				be.WriteFloat32(a, 0, x)
				be.Unary(tensor.OpAffine, b, a, n, 2, float32(g))
				be.Binary(tensor.OpAdd, a, []int{n}, a, 0, []int{1}, b, 0, []int{1})
				got := make([]float32, n)
				be.ReadFloat32(a, 0, got)
				for i := range got {
					if want := x[i] + (2*x[i] + float32(g)); got[i] != want {
						errs <- fmt.Errorf("goroutine %d iter %d: [%d] = %g, want %g", g, it, i, got[i], want)
						break
					}
				}
				be.Free(a)
				be.Free(b)
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestProfile(t *testing.T) {
	be := newTestBackend(t, Options{Profile: true})
	if !be.Context().Info().TimestampCompute {
		testenv.Skip(t, "no timestamp support on the compute queue of %s", be.Context().Info().Name)
	}
	n := 100000
	x, y := be.Alloc(n), be.Alloc(n)
	for i := 0; i < 5; i++ {
		be.Unary(tensor.OpExp, y, x, n, 0, 0)
		be.Binary(tensor.OpAdd, x, []int{n}, x, 0, []int{1}, y, 0, []int{1})
	}
	prof := be.Context().Profile()
	calls := map[string]int{}
	for _, p := range prof {
		calls[p.Name] = p.Calls
		if p.Total <= 0 {
			t.Errorf("%s: total %v", p.Name, p.Total)
		}
	}
	if calls["unary"] != 5 || calls["binary"] != 5 {
		t.Errorf("profile calls %v, want 5 unary and 5 binary", calls)
	}
	var sb strings.Builder
	be.Context().WriteProfile(&sb)
	t.Log("\n" + sb.String())
}

// Memory: freed buffers are reused from the size-class cache, and a freed
// buffer still used by queued work is not handed out before that work ends.
func TestMemoryReuse(t *testing.T) {
	be := newTestBackend(t, Options{})
	c := be.Context()
	for i := 0; i < 50; i++ {
		b := be.Alloc(1000 + i%3)
		be.Fill(b, 0, 1000, 1)
		be.Free(b)
	}
	be.Sync()
	st := c.MemoryStats()
	if st.Blocks != 1 {
		t.Errorf("50 alloc/free cycles used %d blocks, want 1", st.Blocks)
	}
	x := be.Alloc(4096)
	be.Fill(x, 0, 4096, 7)
	y := be.Alloc(4096)
	be.Unary(tensor.OpNeg, y, x, 4096, 0, 0)
	be.Free(x) // still read by the queued Unary
	z := be.Alloc(4096)
	if z.(*Buffer).a == x.(*Buffer).a {
		t.Fatal("a buffer in use by queued work was reused")
	}
	got := readG(be, y)
	if got[4095] != -7 {
		t.Fatalf("y = %g, want -7", got[4095])
	}
	t.Logf("memory: %+v", c.MemoryStats())
}

// Workgroup grids larger than 65535 groups per axis.
func TestHugeGrid(t *testing.T) {
	be := shared(t)
	g := be.c.grid(65535*3 + 7)
	if g[0] > 65535 || uint64(g[0])*uint64(g[1]) < 65535*3+7 {
		t.Fatalf("grid %v", g)
	}
	// Reduce with more than 65535 outputs (one workgroup each).
	n := 70001
	src := mkpair(be, randSlice(rand.New(rand.NewSource(1)), 2*n, -1, 1))
	dst := mkpair(be, make([]float32, n))
	be.Reduce(tensor.ReduceMax, dst.g, src.g, n, 2, 1)
	ref.Reduce(tensor.ReduceMax, dst.c, src.c, n, 2, 1)
	dst.check(t, be, "reduce 70001 groups", 0, 0)
}
