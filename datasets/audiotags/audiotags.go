// Package audiotags renders the clips of the "audio-tags" task, a
// multi-label stand-in for FSD50K: short mixtures of General MIDI
// instruments rendered from a SoundFont with the pure-Go synthesiser
// github.com/sinshu/go-meltysynth, turned into log-mel patches of the
// NAS-Bench-360 FSD50K shape (96 mel bands × 102 frames), labelled with
// which of 17 instrument families sound in the clip: the 16 General MIDI
// program families (piano, chromatic percussion, organ, guitar, bass,
// strings, ensemble, brass, reed, pipe, synth lead, synth pad, synth
// effects, ethnic, percussive, sound effects) and the drum kit.
//
// A clip (seeded per index) holds 1 to 3 distinct families; each family
// plays one random program of its 8 (Reverse Cymbal excluded, see Excluded) (the kit: standard drum sounds, keys
// 35–81) with 1 to 3 notes of random pitch in the family's range, velocity
// 80–127, onset in [0, 0.5] s and length 0.3–0.7 s (a note may ring past the
// clip's end). The clip is rendered at
// 16 kHz without reverb or chorus, mixed to mono, and analysed with a
// 400-sample (25 ms) Hann window zero-padded to 512, hop 160 (10 ms), 96
// triangular mel filters (HTK mel scale) over 0–8 kHz, and ln(power + 1e-6).
package audiotags

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sync"

	"github.com/sinshu/go-meltysynth/meltysynth"
	"gonum.org/v1/gonum/dsp/fourier"
)

// Shapes and signal parameters.
const (
	Mels       = 96
	Frames     = 102
	SampleRate = 16000
	Window     = 400
	Hop        = 160
	FFTSize    = 512
	// ClipSamples covers Frames windows: (Frames−1)·Hop + Window.
	ClipSamples = (Frames-1)*Hop + Window
	// Labels is the number of instrument families.
	Labels = 17
	// LogFloor is added to the mel power before the logarithm.
	LogFloor = 1e-6
)

// Families names the labels: General MIDI programs 8f…8f+7 for f < 16,
// and the drum kit (MIDI channel 10).
var Families = [Labels]string{"piano", "chromatic-percussion", "organ", "guitar", "bass", "strings", "ensemble",
	"brass", "reed", "pipe", "synth-lead", "synth-pad", "synth-effects", "ethnic", "percussive", "sound-effects", "drums"}

// Excluded is the one General MIDI program never drawn: 119, Reverse
// Cymbal, swells so slowly that a 0.3 s note is about 45 dB below the
// other instruments (its label would name a sound that is not heard).
const Excluded = 119

// Drums is the label index of the drum kit.
const Drums = 16

// DefaultSoundFont is the General MIDI SoundFont of Debian's
// timgm6mb-soundfont package.
const DefaultSoundFont = "/usr/share/sounds/sf2/TimGM6mb.sf2"

// Package is the Debian package that provides DefaultSoundFont.
const Package = "timgm6mb-soundfont"

// SoundFontPath is $DASH_SOUNDFONT, or DefaultSoundFont.
func SoundFontPath() string {
	if p := os.Getenv("DASH_SOUNDFONT"); p != "" {
		return p
	}
	return DefaultSoundFont
}

// CheckSoundFont reports whether the SoundFont file exists, with an error
// naming the Debian package when it does not.
func CheckSoundFont() (string, error) {
	p := SoundFontPath()
	if _, err := os.Stat(p); err != nil {
		return p, fmt.Errorf("audiotags: SoundFont %s not found (apt-get install %s, or set DASH_SOUNDFONT to a General MIDI .sf2): %w", p, Package, err)
	}
	return p, nil
}

var (
	sfMu    sync.Mutex
	sfCache = map[string]*meltysynth.SoundFont{}
)

// LoadSoundFont parses the SoundFont at path (once per process).
func LoadSoundFont(path string) (*meltysynth.SoundFont, error) {
	sfMu.Lock()
	defer sfMu.Unlock()
	if sf, ok := sfCache[path]; ok {
		return sf, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audiotags: opening SoundFont (apt-get install %s): %w", Package, err)
	}
	defer f.Close()
	sf, err := meltysynth.NewSoundFont(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("audiotags: %s is not a readable SoundFont: %w", path, err)
	}
	sfCache[path] = sf
	return sf, nil
}

// Note is one note of a clip.
type Note struct {
	Family    int     // label index
	Program   int     // General MIDI program 0…127 (ignored for drums)
	Key       int     // MIDI key
	Velocity  int     // 1…127
	On, Off   float64 // seconds
	Channel   int     // MIDI channel (9 for drums)
	FamilyPos int     // which of the clip's families (0…2)
}

// Clip is the score of one clip and its labels.
type Clip struct {
	Notes  []Note
	Labels [Labels]bool
}

// keyRange is the pitch range of a family's notes.
func keyRange(f int) (lo, hi int) {
	switch f {
	case 4: // bass
		return 28, 55
	case Drums:
		return 35, 81
	case 0, 1, 2, 3:
		return 45, 84
	}
	return 48, 84
}

// KeyTable lists, per General MIDI program (0…127, bank 0) and the drum
// kit (index 128, bank 128 preset 0), the keys a note is drawn from: those
// in the family's range that the SoundFont maps to a sample (a preset
// region and one of its instrument's regions contain the key at velocity
// 100), or every mapped key when none is in range.
type KeyTable [129][]int

// NewKeyTable reads the key ranges of sf's presets. It fails when a
// General MIDI program or the drum kit is missing or maps no key.
func NewKeyTable(sf *meltysynth.SoundFont) (*KeyTable, error) {
	var kt KeyTable
	for p := 0; p <= 128; p++ {
		bank, patch, fam := int32(0), int32(p), p/8
		if p == 128 {
			bank, patch, fam = 128, 0, Drums
		}
		var preset *meltysynth.Preset
		for _, pr := range sf.Presets {
			if pr.BankNumber == bank && pr.PatchNumber == patch {
				preset = pr
			}
		}
		if preset == nil {
			return nil, fmt.Errorf("audiotags: the SoundFont has no preset bank %d program %d (%s): not a General MIDI SoundFont", bank, patch, Families[fam])
		}
		var mapped, inRange []int
		lo, hi := keyRange(fam)
		for key := int32(0); key < 128; key++ {
			if mapsKey(preset, key, 100) {
				mapped = append(mapped, int(key))
				if int(key) >= lo && int(key) <= hi {
					inRange = append(inRange, int(key))
				}
			}
		}
		switch {
		case len(inRange) > 0:
			kt[p] = inRange
		case len(mapped) > 0:
			kt[p] = mapped
		default:
			return nil, fmt.Errorf("audiotags: SoundFont preset %q (bank %d program %d) maps no key", preset.Name, bank, patch)
		}
	}
	return &kt, nil
}

func mapsKey(p *meltysynth.Preset, key, vel int32) bool {
	for _, r := range p.Regions {
		if r.GetKeyRangeStart() > key || key > r.GetKeyRangeEnd() || r.GetVelocityRangeStart() > vel || vel > r.GetVelocityRangeEnd() || r.Instrument == nil {
			continue
		}
		for _, ir := range r.Instrument.Regions {
			if ir.GetKeyRangeStart() <= key && key <= ir.GetKeyRangeEnd() && ir.GetVelocityRangeStart() <= vel && vel <= ir.GetVelocityRangeEnd() {
				return true
			}
		}
	}
	return false
}

// Score draws clip index of a stream (0 train, 1 test) for seed, with keys
// from kt.
func Score(kt *KeyTable, seed int64, stream, index int) Clip {
	rng := rand.New(rand.NewPCG(uint64(seed)^0xa0d10ca7, uint64(stream)<<40|uint64(index)))
	var c Clip
	k := 1 + rng.IntN(3)
	fams := rng.Perm(Labels)[:k]
	slices.Sort(fams)
	for pos, f := range fams {
		c.Labels[f] = true
		prog, ch, keys := 8*f+rng.IntN(8), pos, []int(nil)
		for prog == Excluded {
			prog = 8*f + rng.IntN(8)
		}
		if f == Drums {
			prog, ch, keys = 0, 9, kt[128]
		} else {
			keys = kt[prog]
		}
		for range 1 + rng.IntN(3) {
			on := 0.5 * rng.Float64()
			c.Notes = append(c.Notes, Note{Family: f, Program: prog, Key: keys[rng.IntN(len(keys))], Velocity: 80 + rng.IntN(48),
				On: on, Off: on + 0.3 + 0.4*rng.Float64(), Channel: ch, FamilyPos: pos})
		}
	}
	return c
}

// Render synthesises the clip as ClipSamples mono samples.
func Render(sf *meltysynth.SoundFont, c Clip) ([]float32, error) {
	st := meltysynth.NewSynthesizerSettings(SampleRate)
	st.EnableReverbAndChorus = false
	syn, err := meltysynth.NewSynthesizer(sf, st)
	if err != nil {
		return nil, fmt.Errorf("audiotags: synthesiser: %w", err)
	}
	type event struct {
		at            int
		on            bool
		ch, key, velo int
	}
	var evs []event
	progs := map[int]int{}
	for _, n := range c.Notes {
		progs[n.Channel] = n.Program
		evs = append(evs, event{int(math.Round(n.On * SampleRate)), true, n.Channel, n.Key, n.Velocity},
			event{int(math.Round(n.Off * SampleRate)), false, n.Channel, n.Key, 0})
	}
	slices.SortStableFunc(evs, func(a, b event) int { return a.at - b.at })
	for ch, p := range progs {
		if ch != 9 {
			syn.ProcessMidiMessage(int32(ch), 0xC0, int32(p), 0) // program change
		}
	}
	left, right := make([]float32, ClipSamples), make([]float32, ClipSamples)
	pos := 0
	flush := func(to int) {
		to = min(to, ClipSamples)
		if to > pos {
			syn.Render(left[pos:to], right[pos:to])
			pos = to
		}
	}
	for _, e := range evs {
		flush(e.at)
		if e.on {
			syn.NoteOn(int32(e.ch), int32(e.key), int32(e.velo))
		} else {
			syn.NoteOff(int32(e.ch), int32(e.key))
		}
	}
	flush(ClipSamples)
	out := make([]float32, ClipSamples)
	for i := range out {
		out[i] = (left[i] + right[i]) / 2
	}
	return out, nil
}

// HzToMel is the HTK mel scale 2595·log10(1 + f/700).
func HzToMel(f float64) float64 { return 2595 * math.Log10(1+f/700) }

// MelToHz inverts HzToMel.
func MelToHz(m float64) float64 { return 700 * (math.Pow(10, m/2595) - 1) }

// MelFilters returns the Mels triangular filters over the FFTSize/2+1
// power-spectrum bins, row major: filter m rises from mel point m to m+1 and
// falls to m+2, with Mels+2 points equally spaced in mel from 0 Hz to the
// Nyquist frequency; peaks are 1.
func MelFilters() []float64 {
	nb := FFTSize/2 + 1
	pts := make([]float64, Mels+2)
	top := HzToMel(SampleRate / 2)
	for i := range pts {
		pts[i] = MelToHz(top * float64(i) / float64(Mels+1))
	}
	w := make([]float64, Mels*nb)
	for m := 0; m < Mels; m++ {
		lo, mid, hi := pts[m], pts[m+1], pts[m+2]
		for b := 0; b < nb; b++ {
			f := float64(b) * SampleRate / FFTSize
			switch {
			case f > lo && f <= mid:
				w[m*nb+b] = (f - lo) / (mid - lo)
			case f > mid && f < hi:
				w[m*nb+b] = (hi - f) / (hi - mid)
			}
		}
	}
	return w
}

var (
	melOnce sync.Once
	melW    []float64
	hann    []float64
)

// LogMel returns the Mels×Frames log-mel patch of x (ClipSamples values),
// row major (mel band, frame): ln(Σ_b w_mb |X_f(b)|² + LogFloor) with X_f
// the FFTSize-point DFT of frame f (samples f·Hop … f·Hop+Window−1 times a
// periodic Hann window, zero-padded).
func LogMel(x []float32) ([]float32, error) {
	if len(x) != ClipSamples {
		return nil, fmt.Errorf("audiotags: clip has %d samples, want %d", len(x), ClipSamples)
	}
	melOnce.Do(func() {
		melW = MelFilters()
		hann = make([]float64, Window)
		for i := range hann {
			hann[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/Window)
		}
	})
	fft := fourier.NewFFT(FFTSize)
	nb := FFTSize/2 + 1
	frame := make([]float64, FFTSize)
	coef := make([]complex128, nb)
	pow := make([]float64, nb)
	out := make([]float32, Mels*Frames)
	for f := 0; f < Frames; f++ {
		clear(frame)
		for i := 0; i < Window; i++ {
			frame[i] = float64(x[f*Hop+i]) * hann[i]
		}
		fft.Coefficients(coef, frame)
		for b, c := range coef {
			pow[b] = real(c)*real(c) + imag(c)*imag(c)
		}
		for m := 0; m < Mels; m++ {
			s := 0.0
			for b, w := range melW[m*nb : (m+1)*nb] {
				s += w * pow[b]
			}
			out[m*Frames+f] = float32(math.Log(s + LogFloor))
		}
	}
	return out, nil
}
