// Command winogen writes tensor/cpu/winograd_amd64.s: the AVX-512
// transforms of the Winograd F(2×2, 3×3) and F(4×4, 3×3) convolutions in
// winograd.go. Run through `go generate ./tensor/cpu`; a test
// (TestGeneratedWinogradAsmUpToDate) regenerates and compares the committed
// file.
//
//	go run ./tensor/cpu/internal/winogen -o tensor/cpu/winograd_amd64.s
package main

import (
	"bytes"
	"flag"
	"log"
	"os"

	"github.com/dash-go/dash/tensor/cpu/internal/winogen/gen"
)

func main() {
	out := flag.String("o", "winograd_amd64.s", "output file")
	flag.Parse()
	var b bytes.Buffer
	gen.Write(&b)
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
