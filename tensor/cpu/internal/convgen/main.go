// Command convgen writes tensor/cpu/convdirect_amd64.s: the AVX-512
// micro-kernels of the direct (batch-innermost) convolution in
// convdirect.go. Run through `go generate ./tensor/cpu`; a test
// (TestGeneratedConvAsmUpToDate) regenerates and compares the committed file.
//
//	go run ./tensor/cpu/internal/convgen -o tensor/cpu/convdirect_amd64.s
package main

import (
	"bytes"
	"flag"
	"log"
	"os"

	"github.com/dash-go/dash/tensor/cpu/internal/convgen/gen"
)

func main() {
	out := flag.String("o", "convdirect_amd64.s", "output file")
	flag.Parse()
	var b bytes.Buffer
	gen.Write(&b)
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
