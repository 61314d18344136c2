//go:build !amd64 || purego

package cpu

// asmWinoKernels: portable builds have none (the Go transforms are used).
var asmWinoKernels *winoKernelSet
var asmWino4Kernels *winoKernelSet
