package cpu

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	"github.com/dash-go/dash/tensor/cpu/internal/winogen/gen"
)

// TestGeneratedWinogradAsmUpToDate checks that winograd_amd64.s is
// internal/winogen's output and that the generator's matrices are the ones
// of the Go transforms.
func TestGeneratedWinogradAsmUpToDate(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want [][]float64
	}{
		{"F2 Bᵀ", gen.BT2, wino2.bt}, {"F2 Aᵀ", gen.AT2, wino2.at},
		{"F4 Bᵀ", gen.BT4, wino4.bt}, {"F4 Aᵀ", gen.AT4, wino4.at},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: internal/winogen has %v, winograd.go %v", c.name, c.got, c.want)
		}
	}
	var b bytes.Buffer
	gen.Write(&b)
	got, err := os.ReadFile("winograd_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, b.Bytes()) {
		t.Fatal("winograd_amd64.s differs from internal/winogen's output: run go generate ./tensor/cpu")
	}
}
