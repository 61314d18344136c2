package dash_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/dash-go/dash/dash"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/internal/tinyrun"
	"github.com/dash-go/dash/tensor/cpu"
)

// Apply a run's retrained network to new data from Go: Load rebuilds the
// searched network with its retrained weights and the run's normaliser,
// Predict takes raw inputs [N, C, L] (or [N, C, H, W]) and returns the
// task's form — here class probabilities and labels.
func ExampleLoad() {
	runDir := exampleRunDir() // in your program: a directory written by 'dash run'
	defer os.RemoveAll(runDir)

	be := cpu.New() // or vk.New(...) for a Vulkan device
	defer be.Close()
	m, err := dash.Load(runDir, be)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	// four new samples of the run's input shape [2, 40]
	x := dash.Array{Shape: []int{4, 2, 40}, Data: tinyrun.Data(7, 4, []int{2, 40})}
	p, err := m.Predict(x)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("input per sample:", m.InputShape())
	fmt.Println(p.Kind, "probabilities:", p.Shape)
	fmt.Println("labels:", len(p.Labels))

	// a shape the run was not trained on is an error naming the expected one
	_, err = m.Predict(dash.Array{Shape: []int{4, 40}, Data: x.Data[:160]})
	fmt.Println(err != nil)
	// Output:
	// input per sample: [2 40]
	// class probabilities: [4 3]
	// labels: 4
	// true
}

// exampleRunDir makes a seconds-long run (smoke budget) on generated data.
func exampleRunDir() string {
	dir, err := os.MkdirTemp("", "dash-example")
	if err != nil {
		log.Fatal(err)
	}
	be := cpu.New()
	defer be.Close()
	o := tinyrun.Options{Backbone: "resnet1d", Kind: datasets.ClassIndex, InShape: []int{2, 40}, Seed: 1}
	if _, err := tinyrun.Make(context.Background(), dir, be, o); err != nil {
		log.Fatal(err)
	}
	return dir
}
