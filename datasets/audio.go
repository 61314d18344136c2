package datasets

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/dash-go/dash/datasets/audiotags"
	"github.com/dash-go/dash/datasets/internal/gencache"
	"github.com/sinshu/go-meltysynth/meltysynth"
)

// The audio-tags task: a multi-label stand-in for NAS-Bench-360's FSD50K
// (see package audiotags for the recipe). Log-mel values are stored as
// uint16, (v − audioQMin)·audioQScale rounded: a step of 1/128 in ln power (0.034 dB).
const (
	AudioSeed    = 0
	AudioTrain   = 8000
	AudioTest    = 1000
	audioVersion = 1
	audioPixels  = audiotags.Mels * audiotags.Frames
	audioRecord  = 2*audioPixels + 3 // log-mel, 17 label bits
	audioQMin    = -16.0
	audioQScale  = 128.0
)

func init() {
	mustRegister(&Task{
		Name: "audio-tags",
		Description: fmt.Sprintf("STAND-IN for FSD50K: 1-s mixtures of 1–3 General MIDI instrument families rendered from a SoundFont, "+
			"log-mel 1×%d×%d, multi-label over %d families (%s)", audiotags.Mels, audiotags.Frames, audiotags.Labels, strings.Join(audiotags.Families[:], ", ")),
		Source:    "Debian " + audiotags.Package + " (" + audiotags.DefaultSoundFont + ") rendered with github.com/sinshu/go-meltysynth",
		Family:    "audio 2-D multi-label",
		StandsFor: "FSD50K (stand-in: synthesised instrument mixtures, 17 family labels)",
		Licence:   "GPL-2 (TimGM6mb SoundFont), rendered by our code",
		Dims:      2,
		InShape:   []int{1, audiotags.Mels, audiotags.Frames},
		Kind:      MultiLabel,
		Classes:   audiotags.Labels,
		Loss:      "bce_logits",
		Metric:    "map",
		PosWeight: 10,
		Kernels:   slices.Clone(kernelsDefault),
		Dilations: slices.Clone(dilationsDefault),
		BatchSize: 128,
		Backbone:  "wrn",
		Synthetic: true,
		TrainSize: AudioTrain,
		TestSize:  AudioTest,
		Present: func() (bool, string) {
			if _, err := audiotags.CheckSoundFont(); err != nil {
				return false, err.Error()
			}
			return generatedPresent(audioKey("train", AudioTrain))
		},
		Load: func(ctx context.Context, o LoadOptions) (*Split, error) {
			sp, err := LoadAudioTags(ctx, o)
			if err != nil {
				return nil, fmt.Errorf("loading audio-tags: %w", err)
			}
			return sp, nil
		},
	})
}

func audioKey(stream string, n int) gencache.Key {
	return gencache.Key{Task: "audio-tags", Stream: stream, N: n, Seed: AudioSeed, Version: audioVersion, RecordSize: audioRecord}
}

// audioClip renders clip i of a stream into a record.
func audioClip(sf *audiotagsFont, stream, i int, rec []byte) error {
	c := audiotags.Score(sf.keys, AudioSeed, stream, i)
	x, err := audiotags.Render(sf.sf, c)
	if err != nil {
		return err
	}
	mel, err := audiotags.LogMel(x)
	if err != nil {
		return err
	}
	for j, v := range mel {
		q := math.Round((float64(v) - audioQMin) * audioQScale)
		binary.LittleEndian.PutUint16(rec[2*j:], uint16(math.Min(math.MaxUint16, math.Max(0, q))))
	}
	var bits uint32
	for l, on := range c.Labels {
		if on {
			bits |= 1 << l
		}
	}
	rec[2*audioPixels], rec[2*audioPixels+1], rec[2*audioPixels+2] = byte(bits), byte(bits>>8), byte(bits>>16)
	return nil
}

// audiotagsFont is the SoundFont with its key table.
type audiotagsFont struct {
	sf   *meltysynth.SoundFont
	keys *audiotags.KeyTable
}

// LoadAudioTags renders (or reads from the cache) the audio-tags split:
// Limit (or 8000) training-pool clips and TestLimit (or 1000) test clips
// with seed AudioSeed; inputs are normalised with the global mean/std of
// the training split. It fails, naming the Debian package, when the
// SoundFont is missing.
func LoadAudioTags(ctx context.Context, o LoadOptions) (*Split, error) {
	path, err := audiotags.CheckSoundFont()
	if err != nil {
		return nil, err
	}
	sf, err := audiotags.LoadSoundFont(path)
	if err != nil {
		return nil, err
	}
	kt, err := audiotags.NewKeyTable(sf)
	if err != nil {
		return nil, err
	}
	font := &audiotagsFont{sf: sf, keys: kt}
	nTrain, nTest := AudioTrain, AudioTest
	if o.Limit > 0 {
		nTrain = o.Limit
	}
	if o.TestLimit > 0 {
		nTest = o.TestLimit
	}
	var sets [2]*Data
	for s, n := range []int{nTrain, nTest} {
		k := audioKey([]string{"train", "test"}[s], n)
		p, _, err := gencache.Load(ctx, k, cacheOptions(o), func(i int, rec []byte) error { return audioClip(font, s, i, rec) })
		if err != nil {
			return nil, err
		}
		sets[s] = audioData(p, n)
	}
	return generatedSplit(sets[0], sets[1], o, false, false)
}

// audioData lays out n records as log-mel inputs and 0/1 label vectors.
func audioData(p []byte, n int) *Data {
	L := audiotags.Labels
	d := &Data{X: make([]float32, n*audioPixels), XShape: []int{1, audiotags.Mels, audiotags.Frames},
		Y: make([]float32, n*L), YShape: []int{L}, N: n}
	for i := 0; i < n; i++ {
		rec := p[i*audioRecord : (i+1)*audioRecord]
		for j := 0; j < audioPixels; j++ {
			d.X[i*audioPixels+j] = float32(audioQMin + float64(binary.LittleEndian.Uint16(rec[2*j:]))/audioQScale)
		}
		bits := uint32(rec[2*audioPixels]) | uint32(rec[2*audioPixels+1])<<8 | uint32(rec[2*audioPixels+2])<<16
		for l := 0; l < L; l++ {
			if bits&(1<<l) != 0 {
				d.Y[i*L+l] = 1
			}
		}
	}
	return d
}
