//go:build !linux

package cpu

// adviseHuge is a no-op outside Linux (see hugepage_linux.go).
func adviseHuge([]float32) {}
