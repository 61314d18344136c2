//go:build cgo

package vk

import (
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
)

// TestObjectCreationUnderGC creates many pipelines (each with its own
// specialization constants, so none comes from the cache), descriptor pools,
// submissions, barriers and copies while another goroutine forces garbage
// collections. The binding's array arguments were freed by finalizers during
// the call (issue: SIGSEGV / std::bad_alloc in vkCreateComputePipelines under
// GOGC=1); every such call now goes through the C shim, and this test
// crashes the process if one does not.
func TestObjectCreationUnderGC(t *testing.T) {
	old := debug.SetGCPercent(1)
	defer debug.SetGCPercent(old)
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			runtime.GC()
			_ = make([]byte, 1<<16) // garbage, so the collector has work
		}
	}()
	defer func() { stop.Store(true); wg.Wait() }()

	for round := 0; round < 3; round++ {
		be := newTestBackend(t, Options{BatchSize: 4, ForceStaging: true}) // staging: uploads are vkCmdCopyBuffer
		c := be.Context()
		c.mu.Lock()
		for i := 0; i < 40; i++ {
			// binary: op, layout; distinct op/layout pairs are distinct pipelines
			if _, err := c.pipes.get("binary", []uint32{uint32(i % 8), uint32(i / 8 % 4)}, 3); err != nil {
				c.mu.Unlock()
				t.Fatal(err)
			}
		}
		c.mu.Unlock()
		// Exercise submit, barriers and copies: a chain of dependent ops
		// spanning several frames (BatchSize 4).
		n := 1000
		a, b := be.Alloc(n), be.Alloc(n)
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(i)
		}
		be.WriteFloat32(a, 0, x)
		for it := 0; it < 20; it++ {
			be.Copy(b, 0, []int{1}, a, 0, []int{1}, []int{n})
			be.Copy(a, 0, []int{1}, b, 0, []int{1}, []int{n})
		}
		got := make([]float32, n)
		be.ReadFloat32(a, 0, got)
		for i := range got {
			if got[i] != x[i] {
				t.Fatalf("round %d: a[%d] = %g after copies, want %g", round, i, got[i], x[i])
			}
		}
		be.Free(a)
		be.Free(b)
	}
}
