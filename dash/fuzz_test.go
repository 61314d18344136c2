package dash

import (
	"encoding/json"
	"testing"
)

// FuzzParseArchitecture: any bytes give a valid architecture or an error,
// never a panic; what is accepted re-validates.
func FuzzParseArchitecture(f *testing.F) {
	for _, s := range []string{
		`{"task":"t","kernels":[3,5],"dilations":[1,3],"layers":[{"name":"block0.conv1","k":3,"d":1,"default_kd":[8,1],"alpha":[0.25,0.25,0.25,0.25],"candidates":[[3,1],[3,3],[5,1],[5,3]]}]}`,
		`{"kernels":[3],"dilations":[1],"layers":[{"name":"block9.convX","k":3,"d":1}]}`,
		`{"kernels":[3],"dilations":[1],"layers":[{"name":"a","k":4,"d":1}]}`,
		`{"kernels":[3],"dilations":[1],"layers":[{"name":"a","k":-3,"d":0}]}`,
		`{"layers":[{"name":"a","k":3,"d":1},{"name":"a","k":3,"d":1}]}`,
		`{"layers":[]}`, `{"kernel":3}`, `null`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseArchitecture(data)
		if err != nil {
			return
		}
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseArchitecture(b); err != nil {
			t.Fatalf("accepted %q, but its re-encoding %q fails: %v", data, b, err)
		}
	})
}

// FuzzParseHParams: any bytes give valid hyperparameters or an error.
func FuzzParseHParams(f *testing.F) {
	for _, s := range []string{
		`{"lr":0.1,"dropout":0,"weight_decay":0.0005,"momentum":0.9,"trials":[{"lr":0.1,"dropout":0,"weight_decay":0.0005,"momentum":0.9,"val":0.5}],"metric":"error"}`,
		`{"lr":0,"momentum":0.9}`, `{"lr":-1}`, `{"lr":1e39}`, `{"lr":0.1,"dropout":1}`, `{"lr":0.1,"momentum":2}`,
		`{"lr":"x"}`, `{"lr":0.1,"typo":1}`, `null`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		hp, err := ParseHParams(data)
		if err != nil {
			return
		}
		if err := ValidateHParams(hp); err != nil {
			t.Fatalf("accepted invalid hyperparameters: %v", err)
		}
	})
}
