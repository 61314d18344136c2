//go:build cgo

package vk

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/dash-go/dash/tensor"
)

// Synchronization validation is live: a dispatch that reads what the
// previous dispatch wrote, with the recorder's hazard tracking bypassed (no
// barrier), is reported as a SYNC-HAZARD, which is what makes a clean
// DASH_VK_VALIDATE=sync run of the suite mean something. (Layer 1.3.239
// reports this read-after-write; it does not report a write-after-write
// between two dispatches.)
func TestSyncValidationCatchesMissingBarrier(t *testing.T) {
	testDevice(t)
	be, err := New(Options{Device: testDevice(t), SyncValidate: true, PipelineCacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ValidationErrors()
	r := rand.New(rand.NewSource(1))
	a := mkpair(be, randSlice(r, 4096, -1, 1))
	o, o2 := be.Alloc(4096), be.Alloc(4096)
	be.Sync()
	c := be.c
	neg := func(dst, src tensor.Buffer) {
		c.dispatch("unary", []uint32{uint32(tensor.OpNeg)}, be.groups1D(4096, 256), pushBuf{}.i(4096, int(tensor.OpNeg), 0, 0).f(0, 0),
			arg{a: dst.(*Buffer).a, write: true}, arg{a: src.(*Buffer).a})
	}
	c.mu.Lock()
	neg(o, a.g)
	clear(c.rec.reads) // forget the write: no barrier before the read
	clear(c.rec.writes)
	neg(o2, o)
	c.mu.Unlock()
	if err := be.Close(); err != nil {
		t.Fatal(err)
	}
	errs := ValidationErrors()
	found := false
	for _, e := range errs {
		if strings.Contains(e, "SYNC-HAZARD") {
			found = true
			t.Logf("reported as expected: %.160s", e)
			break
		}
	}
	if !found {
		t.Fatalf("a write-after-write without a barrier was not reported by synchronization validation (messages: %q)", errs)
	}
}
