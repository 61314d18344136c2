package audiotags

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/dash-go/dash/internal/testenv"
	"github.com/sinshu/go-meltysynth/meltysynth"
)

func needSoundFont(t *testing.T) *meltysynth.SoundFont {
	t.Helper()
	p, err := CheckSoundFont()
	if err != nil {
		testenv.Skip(t, "%v", err)
	}
	sf, err := LoadSoundFont(p)
	if err != nil {
		t.Fatal(err)
	}
	return sf
}

func energy(x []float32) float64 {
	e := 0.0
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return e
}

// Every General MIDI program and the drum kit sound in the SoundFont, so no
// label can name a silent instrument.
func TestEveryProgramSounds(t *testing.T) {
	sf := needSoundFont(t)
	kt, err := NewKeyTable(sf)
	if err != nil {
		t.Fatal(err)
	}
	for p := 0; p <= 128; p++ {
		if p == Excluded {
			continue
		}
		f, ch := p/8, 0
		if p == 128 {
			f, ch = Drums, 9
		}
		keys := kt[p]
		if len(keys) < 12 {
			t.Errorf("program %d: only keys %v", p, keys)
			continue
		}
		for _, key := range []int{keys[0], keys[len(keys)/2], keys[len(keys)-1]} {
			x, err := Render(sf, Clip{Notes: []Note{{Family: f, Program: p % 128, Key: key, Velocity: 80, On: 0.1, Off: 0.4, Channel: ch}}})
			if err != nil {
				t.Fatal(err)
			}
			if e := energy(x); e < 1e-4 {
				t.Errorf("program %d (%s) key %d: energy %g: silent", p, Families[f], key, e)
			}
			// nothing before the onset
			if e := energy(x[:int(0.1*SampleRate)]); e != 0 {
				t.Errorf("program %d: energy %g before the note", p, e)
			}
		}
	}
	// silence renders as zeros
	x, err := Render(sf, Clip{})
	if err != nil || energy(x) != 0 {
		t.Errorf("empty clip: energy %g, err %v", energy(x), err)
	}
}

func TestScore(t *testing.T) {
	sf := needSoundFont(t)
	kt, err := NewKeyTable(sf)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		c := Score(kt, 3, i%2, i)
		var fromNotes [Labels]bool
		for _, n := range c.Notes {
			fromNotes[n.Family] = true
			prog := n.Program
			if n.Family == Drums {
				prog = 128
			}
			if !slices.Contains(kt[prog], n.Key) || n.Velocity < 80 || n.Velocity > 127 || n.On < 0 || n.On > 0.5 || n.Off-n.On < 0.3 || n.Off-n.On > 0.7 || n.Off <= n.On {
				t.Fatalf("clip %d: note %+v out of range", i, n)
			}
			if (n.Family == Drums) != (n.Channel == 9) {
				t.Fatalf("clip %d: note %+v on the wrong channel", i, n)
			}
			if n.Family != Drums && (n.Program/8 != n.Family || n.Program == Excluded) {
				t.Fatalf("clip %d: program %d is not of family %d", i, n.Program, n.Family)
			}
		}
		k := 0
		for _, l := range c.Labels {
			if l {
				k++
			}
		}
		if fromNotes != c.Labels || k < 1 || k > 3 {
			t.Fatalf("clip %d: labels %v, families played %v", i, c.Labels, fromNotes)
		}
		if d := Score(kt, 3, i%2, i); len(d.Notes) != len(c.Notes) || d.Notes[0] != c.Notes[0] {
			t.Fatalf("clip %d: score not deterministic", i)
		}
	}
}

func TestMelFilters(t *testing.T) {
	w := MelFilters()
	nb := FFTSize/2 + 1
	for m := 0; m < Mels; m++ {
		s, mx := 0.0, 0.0
		for _, v := range w[m*nb : (m+1)*nb] {
			if v < 0 || v > 1 {
				t.Fatalf("filter %d has weight %g", m, v)
			}
			s += v
			mx = math.Max(mx, v)
		}
		if s == 0 {
			t.Errorf("filter %d is empty", m)
		}
	}
	if math.Abs(MelToHz(HzToMel(1234.5))-1234.5) > 1e-9 || math.Abs(HzToMel(1000)-999.99) > 0.1 {
		t.Errorf("mel scale: 1000 Hz → %g mel", HzToMel(1000))
	}
}

// LogMel against a float64 reference with a naive DFT, and a pure tone
// peaks in the band around its frequency.
func TestLogMelReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	x := make([]float32, ClipSamples)
	for i := range x {
		x[i] = float32(0.3*math.Sin(2*math.Pi*1000*float64(i)/SampleRate) + 0.05*rng.NormFloat64())
	}
	got, err := LogMel(x)
	if err != nil {
		t.Fatal(err)
	}
	w := MelFilters()
	nb := FFTSize/2 + 1
	for _, f := range []int{0, 37, Frames - 1} {
		pow := make([]float64, nb)
		for b := 0; b < nb; b++ {
			var s complex128
			for i := 0; i < Window; i++ {
				hw := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/Window)
				s += complex(float64(x[f*Hop+i])*hw, 0) * cmplx.Exp(complex(0, -2*math.Pi*float64(b*i)/FFTSize))
			}
			pow[b] = real(s)*real(s) + imag(s)*imag(s)
		}
		best, bestV := -1, math.Inf(-1)
		for m := 0; m < Mels; m++ {
			e := 0.0
			for b := 0; b < nb; b++ {
				e += w[m*nb+b] * pow[b]
			}
			want := math.Log(e + LogFloor)
			if d := math.Abs(float64(got[m*Frames+f]) - want); d > 1e-4 {
				t.Fatalf("frame %d band %d: %g, reference %g", f, m, got[m*Frames+f], want)
			}
			if want > bestV {
				best, bestV = m, want
			}
		}
		// the loudest band contains 1000 Hz
		pts := func(i int) float64 { return MelToHz(HzToMel(SampleRate/2) * float64(i) / (Mels + 1)) }
		if !(pts(best) < 1000 && 1000 < pts(best+2)) {
			t.Errorf("frame %d: loudest band %d spans %.0f–%.0f Hz, not 1000 Hz", f, best, pts(best), pts(best+2))
		}
	}
	if _, err := LogMel(x[:10]); err == nil {
		t.Error("short clip accepted")
	}
}

func TestMissingSoundFont(t *testing.T) {
	t.Setenv("DASH_SOUNDFONT", t.TempDir()+"/none.sf2")
	if _, err := CheckSoundFont(); err == nil || !contains(err.Error(), Package) {
		t.Errorf("error %v does not name %s", err, Package)
	}
	bad := t.TempDir() + "/bad.sf2"
	os.WriteFile(bad, []byte("RIFF not really"), 0o644)
	if _, err := LoadSoundFont(bad); err == nil {
		t.Error("a corrupt SoundFont was accepted")
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func BenchmarkClip(b *testing.B) {
	sf, err := LoadSoundFont(SoundFontPath())
	if err != nil {
		b.Skip(err)
	}
	kt, err := NewKeyTable(sf)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		x, _ := Render(sf, Score(kt, 0, 0, i))
		LogMel(x)
	}
}
