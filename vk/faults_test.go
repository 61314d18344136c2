//go:build cgo

package vk

import (
	"errors"
	"testing"

	vulkan "github.com/vulkan-go/vulkan"

	"github.com/dash-go/dash/tensor"
)

// A device error on a training step's path (a lost device at submit or at
// the fence wait, out of memory at allocation) is a Go error from Sync and
// Close, never a panic: later ops are no-ops, reads return zeros, and the
// caller (the trainer) can stop with its last checkpoint.
func TestDeviceErrorsAreErrors(t *testing.T) {
	testDevice(t)
	for _, tc := range []struct {
		name string
		site faultSite
		res  vulkan.Result
		want error
	}{
		{"lost-at-submit", siteSubmit, vulkan.ErrorDeviceLost, ErrDeviceLost},
		{"lost-at-wait", siteWait, vulkan.ErrorDeviceLost, ErrDeviceLost},
		{"oom-at-alloc", siteAlloc, vulkan.ErrorOutOfDeviceMemory, ErrOutOfDeviceMemory},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be, err := New(Options{Device: testDevice(t), PipelineCacheDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				// Close reports the error too (and must not hang or panic)
				if err := be.Close(); !errors.Is(err, tc.want) {
					t.Errorf("Close: %v, want %v", err, tc.want)
				}
			}()
			g := newNet(be, 1)
			g.step()
			if err := be.Sync(); err != nil {
				t.Fatalf("healthy step: %v", err)
			}
			be.c.mu.Lock()
			be.c.injectFault(tc.site, tc.res)
			be.c.mu.Unlock()
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panic after an injected %s: %v", tc.name, r)
					}
				}()
				if tc.site == siteAlloc {
					// the trainer's next step allocates its activations
					x := be.Alloc(1 << 16)
					be.Fill(x, 0, 1<<16, 1)
					y := be.Alloc(1 << 16)
					be.Unary(tensor.OpExp, y, x, 1<<16, 0, 0)
					be.Free(x)
					be.Free(y)
				}
				for i := 0; i < 3; i++ {
					g.step()
				}
				out := []float32{7}
				be.ReadFloat32(g.loss, 0, out)
				if tc.site != siteAlloc && out[0] != 0 {
					// (the OOM case may read a value computed before the error)
					t.Errorf("read after a lost device = %g, want 0", out[0])
				}
			}()
			for i := 0; i < 2; i++ { // sticky: every Sync reports it
				err := be.Sync()
				if !errors.Is(err, tc.want) {
					t.Fatalf("Sync #%d: %v, want %v", i, err, tc.want)
				}
				if i == 0 {
					t.Logf("Sync: %v", err)
				}
			}
			if err := be.Context().Err(); !errors.Is(err, tc.want) {
				t.Errorf("Err: %v", err)
			}
		})
	}
	ValidationErrors() // these contexts ran without the layer
}
