package checkpoint

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzDecode: any bytes decode to a consistent File or give an error, never
// a panic or an allocation beyond the file's size.
func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	Encode(&buf, sample())
	good := buf.Bytes()
	f.Add(good)
	flipped := bytes.Clone(good)
	flipped[len(flipped)-1] ^= 1
	f.Add(flipped)
	f.Add(good[:len(good)-4])
	huge := []byte(`{"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`)
	f.Add(append(binary.LittleEndian.AppendUint64(nil, uint64(len(huge))), huge...))
	neg := []byte(`{"x":{"dtype":"F32","shape":[-1,-4],"data_offsets":[0,16]}}`)
	f.Add(append(binary.LittleEndian.AppendUint64(nil, uint64(len(neg))), append(neg, make([]byte, 16)...)...))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add(append(zstdMagic, 1, 2, 3))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Decode(data)
		if err != nil {
			return
		}
		for name, tn := range file.Tensors {
			if err := tn.check(name); err != nil {
				t.Fatalf("decoded an inconsistent tensor: %v", err)
			}
		}
	})
}
