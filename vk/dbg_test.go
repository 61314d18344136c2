//go:build cgo

package vk

import (
	"testing"

	"github.com/dash-go/dash/tensor"
)

func TestDbg(t *testing.T) {
	be := newTestBackend(t, Options{})
	for _, n := range []int{100, 300, 600, 1000, 2000, 5000} {
		y := be.Alloc(n)
		z := be.Alloc(n)
		io := make([]float32, n)
		for i := range io {
			io[i] = float32(i + 1)
		}
		be.WriteFloat32(y, 0, io)
		be.Unary(tensor.OpIdentity, z, y, n, 2, 1)
		g := readG(be, z)
		nz := 0
		for _, v := range g {
			if v != 0 {
				nz++
			}
		}
		t.Log(n, nz, y.(*Buffer).a.off, z.(*Buffer).a.off)
	}
}
