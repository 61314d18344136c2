package cpu

import (
	"fmt"

	"github.com/dash-go/dash/tensor"
)

// Reduce reduces [outer][n][inner] over the middle axis.
func (be *Backend) Reduce(op tensor.ReduceOp, dst, src tensor.Buffer, outer, n, inner int) {
	s := buf(src)[:outer*n*inner]
	if n == 0 {
		panic(fmt.Sprintf("cpu.Reduce: empty reduction axis (outer %d, inner %d)", outer, inner))
	}
	switch op {
	case tensor.ReduceArgMax, tensor.ReduceArgMin:
		d := ibuf(dst)[:outer*inner]
		wantMax := op == tensor.ReduceArgMax
		be.parallel(outer, max(1, 4096/max(n*inner, 1)), func(lo, hi int) {
			best := make([]float32, inner)
			for o := lo; o < hi; o++ {
				base := o * n * inner
				copy(best, s[base:base+inner])
				di := d[o*inner : o*inner+inner]
				for i := range di {
					di[i] = 0
				}
				for k := 1; k < n; k++ {
					row := s[base+k*inner : base+k*inner+inner]
					for i, v := range row {
						if (wantMax && v > best[i]) || (!wantMax && v < best[i]) || (best[i] != best[i] && v == v) {
							best[i] = v
							di[i] = int32(k)
						}
					}
				}
			}
		})
		return
	}
	d := buf(dst)[:outer*inner]
	if inner == 1 {
		be.parallel(outer, max(1, 8192/n), func(lo, hi int) {
			for o := lo; o < hi; o++ {
				row := s[o*n : o*n+n]
				d[o] = reduceRow(op, row)
			}
		})
		return
	}
	be.parallel(outer*inner, max(1, 8192/n), func(lo, hi int) {
		// process chunks of contiguous inner indices per outer
		for idx := lo; idx < hi; {
			o, i0 := idx/inner, idx%inner
			i1 := min(inner, i0+(hi-idx))
			acc := d[o*inner+i0 : o*inner+i1]
			base := o * n * inner
			copy(acc, s[base+i0:base+i1])
			for k := 1; k < n; k++ {
				row := s[base+k*inner+i0 : base+k*inner+i1]
				switch op {
				case tensor.ReduceSum:
					for i, v := range row {
						acc[i] += v
					}
				case tensor.ReduceMax:
					for i, v := range row {
						if v > acc[i] {
							acc[i] = v
						}
					}
				case tensor.ReduceMin:
					for i, v := range row {
						if v < acc[i] {
							acc[i] = v
						}
					}
				default:
					panic(fmt.Sprintf("cpu.Reduce: unknown op %d", op))
				}
			}
			idx += i1 - i0
		}
	})
}

func reduceRow(op tensor.ReduceOp, row []float32) float32 {
	switch op {
	case tensor.ReduceSum:
		// pairwise-ish: accumulate in 8 lanes for accuracy and speed
		var a [8]float32
		i := 0
		for ; i+8 <= len(row); i += 8 {
			a[0] += row[i]
			a[1] += row[i+1]
			a[2] += row[i+2]
			a[3] += row[i+3]
			a[4] += row[i+4]
			a[5] += row[i+5]
			a[6] += row[i+6]
			a[7] += row[i+7]
		}
		s := ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
		for ; i < len(row); i++ {
			s += row[i]
		}
		return s
	case tensor.ReduceMax:
		m := row[0]
		for _, v := range row[1:] {
			if v > m {
				m = v
			}
		}
		return m
	case tensor.ReduceMin:
		m := row[0]
		for _, v := range row[1:] {
			if v < m {
				m = v
			}
		}
		return m
	}
	panic(fmt.Sprintf("cpu.Reduce: unknown op %d", op))
}
