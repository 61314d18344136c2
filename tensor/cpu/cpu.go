// Package cpu is the pure-Go backend: the reference every other backend is
// checked against, and the fast path on machines without a GPU. Kernels run
// synchronously, parallel over the cores.
package cpu

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/dash-go/dash/tensor"
)

// Buf is a CPU buffer of 4-byte elements.
type Buf struct {
	F []float32
}

// Len is the number of elements.
func (b *Buf) Len() int { return len(b.F) }

// I32 views the buffer as int32.
func (b *Buf) I32() []int32 {
	if len(b.F) == 0 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&b.F[0])), len(b.F))
}

// Backend is the CPU backend. It is safe for concurrent use.
type Backend struct {
	threads int
}

var _ tensor.Backend = (*Backend)(nil)

// New returns a CPU backend using GOMAXPROCS threads.
func New() *Backend { return &Backend{threads: runtime.GOMAXPROCS(0)} }

var (
	defaultOnce sync.Once
	defaultBE   *Backend
)

// Default returns a shared CPU backend.
func Default() *Backend {
	defaultOnce.Do(func() { defaultBE = New() })
	return defaultBE
}

// Name reports the backend and its thread count.
func (be *Backend) Name() string { return fmt.Sprintf("cpu (%d threads)", be.threads) }

// Alloc returns a zeroed buffer.
func (be *Backend) Alloc(n int) tensor.Buffer { return &Buf{F: make([]float32, n)} }

// Free drops the buffer (the garbage collector reclaims it).
func (be *Backend) Free(b tensor.Buffer) {
	if cb, ok := b.(*Buf); ok {
		cb.F = nil
	}
}

func buf(b tensor.Buffer) []float32 {
	cb, ok := b.(*Buf)
	if !ok {
		panic(fmt.Sprintf("cpu: buffer of type %T does not belong to the CPU backend", b))
	}
	return cb.F
}

func ibuf(b tensor.Buffer) []int32 {
	cb, ok := b.(*Buf)
	if !ok {
		panic(fmt.Sprintf("cpu: buffer of type %T does not belong to the CPU backend", b))
	}
	return cb.I32()
}

// WriteFloat32 copies src into dst at off.
func (be *Backend) WriteFloat32(dst tensor.Buffer, off int, src []float32) {
	copy(buf(dst)[off:off+len(src)], src)
}

// ReadFloat32 copies from src at off into dst.
func (be *Backend) ReadFloat32(src tensor.Buffer, off int, dst []float32) {
	copy(dst, buf(src)[off:off+len(dst)])
}

// WriteInt32 copies src into dst at off.
func (be *Backend) WriteInt32(dst tensor.Buffer, off int, src []int32) {
	copy(ibuf(dst)[off:off+len(src)], src)
}

// ReadInt32 copies from src at off into dst.
func (be *Backend) ReadInt32(src tensor.Buffer, off int, dst []int32) {
	copy(dst, ibuf(src)[off:off+len(dst)])
}

// Sync is a no-op: CPU kernels are synchronous.
func (be *Backend) Sync() error { return nil }

// Close is a no-op.
func (be *Backend) Close() error { return nil }

// parallel runs f over [0, n) split into chunks across the backend's
// threads. grain is the minimum chunk size worth a goroutine.
func (be *Backend) parallel(n, grain int, f func(lo, hi int)) {
	parallelFor(be.threads, n, grain, f)
}

func parallelFor(threads, n, grain int, f func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	w := min(threads, (n+grain-1)/grain)
	if w <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + w - 1) / w
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			f(lo, hi)
		}(lo, hi)
	}
	wg.Wait()
}
