package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLayout(t *testing.T) {
	f := New()
	f.Tensors["b"] = F32([]float32{1, -2.5}, 2)
	f.Tensors["a"] = I32([]int32{7}, 1, 1)
	f.Tensors["s"] = F32([]float32{3})
	f.Metadata["epoch"] = "3"
	var buf bytes.Buffer
	if err := Encode(&buf, f); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	hl := binary.LittleEndian.Uint64(data)
	if hl%8 != 0 {
		t.Errorf("header length %d not 8-aligned", hl)
	}
	var h map[string]any
	if err := json.Unmarshal(data[8:8+hl], &h); err != nil {
		t.Fatal(err)
	}
	if h["__metadata__"].(map[string]any)["epoch"] != "3" {
		t.Errorf("metadata %v", h["__metadata__"])
	}
	// sorted order: a (4 bytes), b (8), s (4)
	b := h["b"].(map[string]any)
	if b["dtype"] != "F32" || !slices.Equal(toInts(b["data_offsets"]), []int{4, 12}) || !slices.Equal(toInts(b["shape"]), []int{2}) {
		t.Errorf("entry b %v", b)
	}
	body := data[8+hl:]
	if len(body) != 16 || math.Float32frombits(binary.LittleEndian.Uint32(body[8:])) != -2.5 || binary.LittleEndian.Uint32(body) != 7 {
		t.Errorf("body % x", body)
	}
	g, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(g.Tensors["b"].F32, []float32{1, -2.5}) || g.Tensors["a"].I32[0] != 7 || len(g.Tensors["s"].Shape) != 0 || g.Metadata["epoch"] != "3" {
		t.Errorf("decoded %+v", g)
	}
}

func toInts(v any) []int {
	var out []int
	for _, x := range v.([]any) {
		out = append(out, int(x.(float64)))
	}
	return out
}

func TestFileRoundTripAndErrors(t *testing.T) {
	dir := t.TempDir()
	f := New()
	vals := []float32{float32(math.Inf(1)), float32(math.NaN()), -0, 1e-38, 3.4e38}
	f.Tensors["x"] = F32(vals, 5)
	for _, z := range []bool{false, true} {
		p := filepath.Join(dir, "c.safetensors")
		if err := Write(p, f, Options{Zstd: z}); err != nil {
			t.Fatal(err)
		}
		g, err := Read(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range g.Tensors["x"].F32 {
			if math.Float32bits(v) != math.Float32bits(vals[i]) {
				t.Fatalf("value %d: %v vs %v", i, v, vals[i])
			}
		}
	}
	bad := New()
	bad.Tensors["y"] = F32([]float32{1, 2}, 3)
	if err := Write(filepath.Join(dir, "bad"), bad, Options{}); err == nil || !strings.Contains(err.Error(), `"y" holds 2 values for shape [3]`) {
		t.Errorf("bad tensor: %v", err)
	}
	if _, err := Decode([]byte{1, 2, 3}); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Errorf("short file: %v", err)
	}
	var buf bytes.Buffer
	Encode(&buf, f)
	trunc := buf.Bytes()[:buf.Len()-4]
	if _, err := Decode(trunc); err == nil || !strings.Contains(err.Error(), "do not fit") {
		t.Errorf("truncated file: %v", err)
	}
}
