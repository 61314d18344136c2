package cpu

import (
	"fmt"

	"github.com/dash-go/dash/tensor"
)

// Random fills n elements at off with counter-based random numbers.
func (be *Backend) Random(dst tensor.Buffer, off, n int, dist tensor.Distribution, seed uint64, a, b float32) {
	d := buf(dst)[off : off+n]
	be.parallel(n, 1<<14, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			switch dist {
			case tensor.Uniform:
				d[i] = a + (b-a)*tensor.HashUniform(seed, uint32(i))
			case tensor.Normal:
				d[i] = a + b*tensor.HashNormal(seed, uint32(i))
			default:
				panic(fmt.Sprintf("cpu.Random: unknown distribution %d", dist))
			}
		}
	})
}
