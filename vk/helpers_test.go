//go:build cgo

package vk

import (
	"fmt"
	"math"
	"math/rand"
	"os"
	"sync"
	"testing"

	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

var (
	devOnce sync.Once
	devIdx  = -1
	devErr  error
)

// testDevice returns the Vulkan device the tests run on (the best one,
// lavapipe included). Without one the test is skipped, or fails when
// DASH_REQUIRE_VULKAN=1.
func testDevice(t testing.TB) int {
	t.Helper()
	devOnce.Do(func() {
		ch, _, err := Choose("vulkan")
		if err != nil {
			devErr = err
			return
		}
		devIdx = ch.Device
	})
	if devErr != nil {
		if envOn("DASH_REQUIRE_VULKAN") {
			t.Fatalf("DASH_REQUIRE_VULKAN=1 but no Vulkan device: %v", devErr)
		}
		t.Skipf("no Vulkan device (%v); set DASH_REQUIRE_VULKAN=1 to make this a failure", devErr)
	}
	return devIdx
}

// newTestBackend opens a backend with validation layers on and fails the
// test on any validation error when it is closed.
func newTestBackend(t testing.TB, o Options) *Backend {
	t.Helper()
	o.Device = testDevice(t)
	if os.Getenv("DASH_VK_VALIDATE") != "0" {
		o.Validate = true
	}
	be, err := New(o)
	if err != nil {
		if envOn("DASH_REQUIRE_VULKAN") {
			t.Fatalf("opening Vulkan backend: %v", err)
		}
		t.Skipf("opening Vulkan backend: %v", err)
	}
	t.Cleanup(func() {
		if err := be.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		checkValidation(t)
	})
	return be
}

// checkValidation fails the test on any recorded validation error.
func checkValidation(t testing.TB) {
	t.Helper()
	for _, e := range ValidationErrors() {
		t.Errorf("validation error: %s", e)
	}
}

var (
	sharedOnce sync.Once
	sharedBE   *Backend
	sharedErr  error
)

// shared returns one validated backend reused by the conformance tests
// (pipeline creation dominates their run time otherwise).
func shared(t testing.TB) *Backend {
	t.Helper()
	idx := testDevice(t)
	sharedOnce.Do(func() {
		// DASH_VK_FORCE_STAGING=1 runs the suite through staging buffers, the
		// path of GPUs whose device-local memory is not host-visible.
		sharedBE, sharedErr = New(Options{Device: idx, Validate: os.Getenv("DASH_VK_VALIDATE") != "0",
			ForceStaging: envOn("DASH_VK_FORCE_STAGING")})
	})
	if sharedErr != nil {
		t.Fatalf("opening Vulkan backend: %v", sharedErr)
	}
	t.Cleanup(func() {
		if err := sharedBE.Sync(); err != nil {
			t.Errorf("Sync: %v", err)
		}
		checkValidation(t)
	})
	return sharedBE
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedBE != nil {
		if err := sharedBE.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "closing shared backend:", err)
			code = 1
		}
		if errs := ValidationErrors(); len(errs) > 0 {
			fmt.Fprintln(os.Stderr, "validation errors at close:", errs)
			code = 1
		}
	}
	os.Exit(code)
}

var ref = cpu.New()

func randSlice(r *rand.Rand, n int, lo, hi float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = lo + (hi-lo)*r.Float32()
	}
	return s
}

// pair holds the same data on the Vulkan and CPU backends.
type pair struct {
	g, c tensor.Buffer
	n    int
}

func mkpair(be *Backend, data []float32) pair {
	g, c := be.Alloc(len(data)), ref.Alloc(len(data))
	be.WriteFloat32(g, 0, data)
	ref.WriteFloat32(c, 0, data)
	return pair{g, c, len(data)}
}

func mkpairI(be *Backend, data []int32) pair {
	g, c := be.Alloc(len(data)), ref.Alloc(len(data))
	be.WriteInt32(g, 0, data)
	ref.WriteInt32(c, 0, data)
	return pair{g, c, len(data)}
}

func (p pair) free(be *Backend) { be.Free(p.g) }

func readG(be *Backend, b tensor.Buffer) []float32 {
	out := make([]float32, b.Len())
	be.ReadFloat32(b, 0, out)
	return out
}

func readC(b tensor.Buffer) []float32 {
	out := make([]float32, b.Len())
	ref.ReadFloat32(b, 0, out)
	return out
}

// compare checks |got-want| ≤ atol + rtol·|want| elementwise (NaN equal to NaN).
func compare(t testing.TB, what string, got, want []float32, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: length %d, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(w) && math.IsNaN(g) {
			continue
		}
		if math.IsInf(w, 0) && g == w {
			continue
		}
		if math.Abs(g-w) > atol+rtol*math.Abs(w) || math.IsNaN(g) != math.IsNaN(w) {
			if bad < 5 {
				t.Errorf("%s: [%d] = %g, want %g", what, i, g, w)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements differ", what, bad, len(got))
	}
}

func (p pair) check(t testing.TB, be *Backend, what string, atol, rtol float64) {
	t.Helper()
	compare(t, what, readG(be, p.g), readC(p.c), atol, rtol)
}

func (p pair) checkInt(t testing.TB, be *Backend, what string) {
	t.Helper()
	got, want := make([]int32, p.n), make([]int32, p.n)
	be.ReadInt32(p.g, 0, got)
	ref.ReadInt32(p.c, 0, want)
	bad := 0
	for i := range got {
		if got[i] != want[i] {
			if bad < 5 {
				t.Errorf("%s: [%d] = %d, want %d", what, i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements differ", what, bad, len(got))
	}
}

// awkward sizes: 1, odd, primes, more than a workgroup, and (when not
// -short) more than 65535 workgroups of 256.
func awkward(t testing.TB) []int {
	s := []int{1, 3, 7, 31, 255, 256, 257, 1000, 4099, 65537}
	if !testing.Short() {
		s = append(s, 65535*256+1237)
	}
	return s
}
