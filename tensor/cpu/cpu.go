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

	// pool caches freed buffers by exact length so a training loop that
	// frees its intermediates (autograd.Release) reuses memory instead of
	// asking the runtime (and the kernel) for fresh zeroed pages each step.
	mu        sync.Mutex
	pool      map[int][]*Buf
	poolBytes int
}

// maxPoolBytes bounds the memory kept in the free-buffer cache.
const maxPoolBytes = 1 << 30

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

// Threads is the number of threads an op splits its work over.
func (be *Backend) Threads() int { return be.threads }

// Name reports the backend and its thread count.
func (be *Backend) Name() string { return fmt.Sprintf("cpu (%d threads)", be.threads) }

// Alloc returns a zeroed buffer, reusing a freed one of the same length
// when the cache holds one.
func (be *Backend) Alloc(n int) tensor.Buffer {
	if f := be.reuse(n); f != nil {
		be.parallel(n, 1<<18, func(lo, hi int) { clear(f[lo:hi]) })
		return &Buf{F: f}
	}
	return &Buf{F: make([]float32, n)}
}

// AllocUninit returns a buffer with unspecified contents (a cached one when
// available), for outputs that a kernel overwrites completely.
func (be *Backend) AllocUninit(n int) tensor.Buffer {
	if f := be.reuse(n); f != nil {
		return &Buf{F: f}
	}
	return &Buf{F: make([]float32, n)}
}

func (be *Backend) reuse(n int) []float32 {
	if n < 1024 {
		return nil
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	l := be.pool[n]
	if len(l) == 0 {
		return nil
	}
	f := l[len(l)-1].F
	be.pool[n] = l[:len(l)-1]
	be.poolBytes -= 4 * n
	return f
}

// Free returns the buffer's memory to the cache (or to the garbage
// collector when the cache is full). The Buf itself is emptied so that a
// use after Free fails loudly instead of reading recycled memory.
func (be *Backend) Free(b tensor.Buffer) {
	cb, ok := b.(*Buf)
	if !ok || cb.F == nil {
		return
	}
	f := cb.F
	cb.F = nil
	n := len(f)
	if n < 1024 {
		return
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	if be.poolBytes+4*n > maxPoolBytes {
		return
	}
	if be.pool == nil {
		be.pool = map[int][]*Buf{}
	}
	be.pool[n] = append(be.pool[n], &Buf{F: f})
	be.poolBytes += 4 * n
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
