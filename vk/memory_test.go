//go:build cgo

package vk

import (
	"math/rand"
	"testing"

	"github.com/dash-go/dash/tensor"
)

func TestChooseWorkgroupSize(t *testing.T) {
	for _, tc := range []struct {
		maxInv uint32
		cap    int
		want   int
	}{
		{1024, 0, 256}, {256, 0, 256}, {128, 0, 128}, {192, 0, 128}, {1024, 128, 128}, {1024, 64, 64}, {1536, 300, 256},
	} {
		if got := chooseWorkgroupSize(tc.maxInv, tc.cap); got != tc.want {
			t.Errorf("chooseWorkgroupSize(%d, %d) = %d, want %d", tc.maxInv, tc.cap, got, tc.want)
		}
	}
	be := newTestBackend(t, Options{MaxWorkgroupSize: 128})
	if got := be.c.WorkgroupSize(); got != 128 {
		t.Errorf("WorkgroupSize with a cap of 128 = %d", got)
	}
	// every pipeline carries the constant; the kernels still run right
	r := rand.New(rand.NewSource(1))
	a := mkpair(be, randSlice(r, 1000, -1, 1))
	o := mkpair(be, make([]float32, 1000))
	be.Unary(tensor.OpTanh, o.g, a.g, a.n, 0, 0)
	ref.Unary(tensor.OpTanh, o.c, a.c, a.n, 0, 0)
	o.check(t, be, "tanh", 1e-6, 1e-5)
}

// The discrete-GPU memory policy (reads through the HOST_CACHED readback
// pool, zero-fills by vkCmdFillBuffer) on this device: zeroed
// allocations stay zero after reuse and reads return the device's data.
func TestDiscreteMemoryPolicy(t *testing.T) {
	be := newTestBackend(t, Options{discretePolicy: true})
	m := be.c.mem
	if m.directRead || m.hostZero {
		t.Fatalf("discrete policy: directRead %v hostZero %v, want both false", m.directRead, m.hostZero)
	}
	r := rand.New(rand.NewSource(2))
	for round := 0; round < 3; round++ {
		a := mkpair(be, randSlice(r, 5000, -1, 1)) // dirties memory the next Alloc reuses
		o := mkpair(be, make([]float32, 5000))
		be.Binary(tensor.OpMul, o.g, []int{5000}, a.g, 0, []int{1}, a.g, 0, []int{1})
		ref.Binary(tensor.OpMul, o.c, []int{5000}, a.c, 0, []int{1}, a.c, 0, []int{1})
		s0 := be.Context().Stats()
		o.check(t, be, "square via readback", 1e-6, 1e-6)
		if s1 := be.Context().Stats(); s1.Copies == s0.Copies {
			t.Error("a read made no copy: the readback pool was not used")
		}
		a.free(be)
		o.free(be)
		z := be.Alloc(5000)
		for i, v := range readG(be, z) {
			if v != 0 {
				t.Fatalf("round %d: reused allocation not zeroed on the device: [%d] = %g", round, i, v)
			}
		}
		be.Free(z)
	}
}

// Freed larger-than-block buffers are kept and reused by the next request
// of their size class (no vkAllocateMemory per use), and they are zeroed
// on reuse.
func TestLargeBufferPooling(t *testing.T) {
	be := newTestBackend(t, Options{})
	const n = 20 << 20 // 80 MiB of float32: above the 64 MiB block
	if uint64(n*4) <= be.c.mem.blockSize || uint64(n*4) > be.c.mem.maxRange {
		t.Fatalf("test size %d B must lie in (%d, %d]", n*4, be.c.mem.blockSize, be.c.mem.maxRange)
	}
	s0 := be.Context().Stats()
	for i := 0; i < 3; i++ {
		b := be.Alloc(n)
		if i == 0 {
			be.Fill(b, 0, n, 3)
		}
		v := make([]float32, 4)
		be.ReadFloat32(b, n-4, v)
		for _, x := range v {
			if x != 0 && i > 0 {
				t.Fatalf("reuse %d: large block not zeroed (%g)", i, x)
			}
		}
		be.Free(b)
		if err := be.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	s1 := be.Context().Stats()
	if a := s1.BlockAllocs - s0.BlockAllocs; a != 1 {
		t.Errorf("3 uses of an 80 MiB buffer: %d vkAllocateMemory calls, want 1", a)
	}
	if s1.LargeReuses-s0.LargeReuses != 2 {
		t.Errorf("large reuses %d, want 2", s1.LargeReuses-s0.LargeReuses)
	}
	be.c.mu.Lock()
	be.c.mem.device.trim()
	be.c.mu.Unlock()
	if ms := be.c.MemoryStats(); ms.Cached != 0 {
		t.Errorf("after trim: %d bytes cached", ms.Cached)
	}
}
