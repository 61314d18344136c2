package datasets

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// f32bytes encodes float32s little-endian.
func f32bytes(v ...float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// npySeeds are the crafted headers of issue 12 plus valid arrays.
func npySeeds() [][]byte {
	return [][]byte{
		rawNPY("<f4", "(2, 3)", f32bytes(1, 2, 3, 4, 5, 6)),
		rawNPY("<i8", "(3,)", []byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0}),
		rawNPY("<f4", "(3, 1, 4611686018427387904)", make([]byte, 16)),
		rawNPY("<f4", "(4294967296, 1, 4294967296)", make([]byte, 16)),
		rawNPY("<f4", "(65536, 32768)", make([]byte, 16)),
		rawNPY("<f4", "(-1, 2)", nil),
		rawNPY("|b1", "()", []byte{1}),
		rawNPY(">f8", "(1, 1)", make([]byte, 8)),
		[]byte("\x93NUMPY\x02\x00\xff\xff\xff\x7f"),
		[]byte("\x93NUMPY\x01\x00"),
		[]byte("not numpy"),
	}
}

// FuzzReadNPY: any byte stream gives an array or an error, never a panic,
// and a returned array holds exactly the elements its shape says.
func FuzzReadNPY(f *testing.F) {
	for _, s := range npySeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := readNPY(bytes.NewReader(data), "fuzz.npy")
		if err != nil {
			return
		}
		n := a.len()
		if n > len(data) { // every element took at least one byte
			t.Fatalf("shape %v claims %d elements from %d bytes", a.shape, n, len(data))
		}
		if (a.isFloat && len(a.f32) != n) || (!a.isFloat && len(a.ints) != n) {
			t.Fatalf("shape %v but %d/%d values", a.shape, len(a.f32), len(a.ints))
		}
	})
}

// npzBytes zips entries (name → .npy bytes) into an .npz.
func npzBytes(entries map[string][]byte) []byte {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	for _, name := range []string{"X.npy", "y.npy", "X_test.npy", "y_test.npy"} {
		data, ok := entries[name]
		if !ok {
			continue
		}
		w, _ := z.Create(name)
		w.Write(data)
	}
	z.Close()
	return b.Bytes()
}

// FuzzLoadNPZ feeds whole .npz archives through LoadFiles (zip, .npy
// headers, shape and label checks, splitting): errors are fine, panics are
// not.
func FuzzLoadNPZ(f *testing.F) {
	x := rawNPY("<f4", "(6, 4)", f32bytes(make([]float32, 24)...))
	y := rawNPY("|u1", "(6,)", []byte{0, 1, 0, 1, 0, 1})
	f.Add(npzBytes(map[string][]byte{"X.npy": x, "y.npy": y}))
	f.Add(npzBytes(map[string][]byte{"X.npy": x, "y.npy": rawNPY("<i8", "(6,)", binary.LittleEndian.AppendUint64(make([]byte, 40), 1e9))}))
	f.Add(npzBytes(map[string][]byte{"X.npy": rawNPY("<f4", "(3, 1, 4611686018427387904)", nil), "y.npy": y}))
	f.Add(npzBytes(map[string][]byte{"X.npy": rawNPY("<f4", "(4294967296, 1, 4294967296)", nil), "y.npy": y}))
	f.Add(npzBytes(map[string][]byte{"X.npy": x, "y.npy": rawNPY("<f4", "(6, 4)", f32bytes(make([]float32, 24)...))}))
	f.Add([]byte("PK\x03\x04 garbage"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "fuzz.npz")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		task, sp, err := LoadFiles(p, FileOptions{})
		if err != nil {
			return
		}
		if task.Kind == ClassIndex && (task.Classes < 2 || task.Classes > MaxClasses) {
			t.Fatalf("accepted %d classes", task.Classes)
		}
		if sp.Train.N == 0 {
			t.Fatal("accepted data with an empty training split")
		}
	})
}

// FuzzReadIDX: any gzip stream gives an IDX set or an error naming the
// file, never a panic or an allocation the data cannot back.
func FuzzReadIDX(f *testing.F) {
	f.Add(rawIDX(idxImageMagic, []uint32{2, 2, 2}, make([]byte, 8)))
	f.Add(rawIDX(idxImageMagic, []uint32{1 << 31, 1 << 31, 1 << 31}, nil))
	f.Add(rawIDX(idxImageMagic, []uint32{1 << 15, 256, 256}, make([]byte, 50)))
	f.Add(rawIDX(idxLabelMagic, []uint32{3}, []byte{1, 2, 3}))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, magic := range []uint32{idxImageMagic, idxLabelMagic} {
			buf, dims, err := readIDXStream(bytes.NewReader(data), "fuzz.gz", magic)
			if err != nil {
				continue
			}
			n, ok := checkedProd(dims, maxElements)
			if !ok || n != len(buf) {
				t.Fatalf("dims %v but %d bytes", dims, len(buf))
			}
		}
	})
}
