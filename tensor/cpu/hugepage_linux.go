//go:build linux

package cpu

import (
	"syscall"
	"unsafe"
)

// adviseHuge asks the kernel to back the 2 MiB-aligned part of s with
// transparent huge pages (MADV_HUGEPAGE; a no-op where THP is off). The
// scratch copies of the direct convolution are walked at strides of tens
// of KiB (a pixel's channels × batch): with 4 KiB pages nearly every row
// of an 8×8 transpose block or of a tap is on its own page and the copies
// stall on TLB misses. Before any page of s is touched, so that the pages
// are faulted in huge.
func adviseHuge(s []float32) {
	const huge = 2 << 20
	if len(s)*4 < 2*huge {
		return
	}
	base := unsafe.Pointer(&s[0])
	lo := uintptr(base)
	hi := lo + uintptr(len(s))*4
	a, b := (lo+huge-1)&^(huge-1), hi&^(huge-1)
	if b <= a {
		return
	}
	_ = syscall.Madvise(unsafe.Slice((*byte)(unsafe.Add(base, a-lo)), b-a), syscall.MADV_HUGEPAGE)
}
