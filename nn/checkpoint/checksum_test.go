package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sample() *File {
	f := New()
	f.Tensors["w"] = F32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	f.Tensors["n"] = I32([]int32{7, -8}, 2)
	f.Metadata["epoch"] = "3"
	return f
}

// Every single-bit flip of a written checkpoint is refused, or (a flip
// inside the checksum's own key) leaves a file without a verified checksum,
// which strict loaders refuse (issue 12: a bit-flipped checkpoint was
// loaded).
func TestChecksumEveryBitFlip(t *testing.T) {
	var buf bytes.Buffer
	if err := Encode(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	f, err := Decode(good)
	if err != nil || !f.Checksummed {
		t.Fatalf("clean file: checksummed %v, err %v", f != nil && f.Checksummed, err)
	}
	hl := int(binary.LittleEndian.Uint64(good))
	named := 0
	for i := range good {
		for bit := 0; bit < 8; bit++ {
			data := bytes.Clone(good)
			data[i] ^= 1 << bit
			f, err := Decode(data)
			if err == nil && f.Checksummed {
				t.Fatalf("flip of bit %d of byte %d accepted as verified", bit, i)
			}
			if errors.Is(err, ErrChecksum) {
				named++
			}
			if i >= 8+hl && !errors.Is(err, ErrChecksum) {
				t.Errorf("flip of bit %d of data byte %d: %v, want a checksum mismatch", bit, i, err)
			}
		}
	}
	// flips of the length prefix or of the checksum entry itself cannot be
	// named as such; every other one is
	t.Logf("%d of %d flips reported as corrupt (checksum)", named, 8*len(good))
	if named < 8*len(good)*85/100 {
		t.Errorf("only %d of %d flips reported as corrupt", named, 8*len(good))
	}
}

func TestChecksumZstdAndRead(t *testing.T) {
	dir := t.TempDir()
	for _, z := range []bool{false, true} {
		p := filepath.Join(dir, "c.safetensors")
		if err := Write(p, sample(), Options{Zstd: z}); err != nil {
			t.Fatal(err)
		}
		f, err := Read(p)
		if err != nil || !f.Checksummed || f.Metadata["epoch"] != "3" {
			t.Fatalf("zstd %v: %v", z, err)
		}
		if !z {
			// flip a bit in the tensor data (the last byte)
			data, _ := os.ReadFile(p)
			data[len(data)-1] ^= 0x10
			os.WriteFile(p, data, 0o644)
			_, err := Read(p)
			if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "corrupt") {
				t.Errorf("flipped data: %v", err)
			}
		}
	}
}

// Files from other tools (no checksum) still load, unverified.
func TestNoChecksumStillLoads(t *testing.T) {
	var buf bytes.Buffer
	if err := Encode(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	data := bytes.Replace(buf.Bytes(), []byte(`"`+ChecksumKey+`"`), []byte(`"checksum.other1"`), 1)
	f, err := Decode(data)
	if err != nil || f.Checksummed {
		t.Fatalf("checksummed %v, err %v", f != nil && f.Checksummed, err)
	}
}
