// Package shaders holds the GLSL compute shaders of the Vulkan backend and
// their SPIR-V, compiled by `go generate ./shaders` (glslc) and committed so
// that building needs no shader compiler. check.sh verifies in CI that the
// committed SPIR-V matches the sources and passes spirv-val.
package shaders

//go:generate sh ./gen.sh

import (
	"embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed *.spv
var spv embed.FS

// SPIRV returns the SPIR-V module compiled from <name>.comp.
func SPIRV(name string) ([]byte, error) {
	b, err := spv.ReadFile(name + ".spv")
	if err != nil {
		return nil, fmt.Errorf("shaders: no SPIR-V for %q (run go generate ./shaders): %w", name, err)
	}
	if len(b) < 20 || len(b)%4 != 0 || b[0] != 0x03 || b[1] != 0x02 || b[2] != 0x23 || b[3] != 0x07 {
		return nil, fmt.Errorf("shaders: %s.spv is not a SPIR-V module", name)
	}
	return b, nil
}

// Names lists the embedded shaders.
func Names() []string {
	ents, _ := spv.ReadDir(".")
	var out []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".spv"); ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
