package datasets

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/dash-go/dash/datasets/audiotags"
	"github.com/dash-go/dash/datasets/internal/gencache"
)

// A small slice of audio-tags: labels are the families the score plays,
// inputs are the log-mel of the rendered score (to the storage step),
// frames before the first note are silence, and the cache returns the same
// data.
func TestAudioTagsSlice(t *testing.T) {
	task := needData(t, "audio-tags")
	if task.Kind != MultiLabel || task.Classes != 17 || task.Loss != "bce_logits" || task.Metric != "map" || task.PosWeight != 10 ||
		!slices.Equal(task.InShape, []int{1, 96, 102}) || task.BatchSize != 128 || !task.Synthetic {
		t.Fatalf("task = %+v", task)
	}
	dir := t.TempDir()
	o := LoadOptions{Limit: 24, TestLimit: 8, ValFraction: -1, CacheDir: dir, Raw: true}
	sp, err := task.Load(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	sf, err := audiotags.LoadSoundFont(audiotags.SoundFontPath())
	if err != nil {
		t.Fatal(err)
	}
	kt, err := audiotags.NewKeyTable(sf)
	if err != nil {
		t.Fatal(err)
	}
	floor := float32(math.Log(audiotags.LogFloor))
	for s, d := range []*Data{sp.Train, sp.Test} {
		if !slices.Equal(d.YShape, []int{17}) {
			t.Fatalf("YShape %v", d.YShape)
		}
		for i := 0; i < d.N; i++ {
			c := audiotags.Score(kt, AudioSeed, s, i)
			first := math.Inf(1)
			for _, n := range c.Notes {
				first = math.Min(first, n.On)
			}
			k := 0
			for l := 0; l < 17; l++ {
				want := float32(0)
				if c.Labels[l] {
					want, k = 1, k+1
				}
				if d.Y[i*17+l] != want {
					t.Fatalf("set %d clip %d label %d = %v, want %v", s, i, l, d.Y[i*17+l], want)
				}
			}
			if k < 1 || k > 3 {
				t.Fatalf("set %d clip %d: %d labels", s, i, k)
			}
			x, err := audiotags.Render(sf, c)
			if err != nil {
				t.Fatal(err)
			}
			mel, err := audiotags.LogMel(x)
			if err != nil {
				t.Fatal(err)
			}
			got := d.X[i*audioPixels : (i+1)*audioPixels]
			for j, v := range mel {
				if math.Abs(float64(got[j]-v)) > 0.6/audioQScale+1e-5 {
					t.Fatalf("set %d clip %d value %d = %v, want %v", s, i, j, got[j], v)
				}
			}
			// frames that end before the first onset are silent
			for f := 0; (f*audiotags.Hop + audiotags.Window) < int(first*audiotags.SampleRate); f++ {
				for m := 0; m < audiotags.Mels; m++ {
					if math.Abs(float64(got[m*audiotags.Frames+f]-floor)) > 0.6/audioQScale {
						t.Fatalf("set %d clip %d: frame %d band %d = %v before the first note at %.3f s", s, i, f, m, got[m*audiotags.Frames+f], first)
					}
				}
			}
			// something sounds
			if slices.Max(got) < floor+10 {
				t.Errorf("set %d clip %d: loudest band %v", s, i, slices.Max(got))
			}
		}
	}
	before := gencache.Generated()
	again, err := task.Load(context.Background(), LoadOptions{Limit: 12, TestLimit: 8, ValFraction: -1, CacheDir: dir, Raw: true})
	if err != nil {
		t.Fatal(err)
	}
	if gencache.Generated() != before || !slices.Equal(again.Train.X, sp.Train.X[:12*audioPixels]) || !slices.Equal(again.Test.Y, sp.Test.Y) {
		t.Error("the second load is not the cached data")
	}
}

func TestAudioTagsMissingSoundFont(t *testing.T) {
	t.Setenv("DASH_SOUNDFONT", t.TempDir()+"/missing.sf2")
	task, err := Lookup("audio-tags")
	if err != nil {
		t.Fatal(err)
	}
	if ok, why := task.Present(); ok || !strings.Contains(why, "timgm6mb-soundfont") {
		t.Errorf("Present = %v, %q", ok, why)
	}
	if _, err := task.Load(context.Background(), LoadOptions{Limit: 2, CacheDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "apt-get install timgm6mb-soundfont") {
		t.Errorf("Load error %v does not name the package", err)
	}
}
