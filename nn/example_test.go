package nn_test

import (
	"fmt"

	"github.com/dash-go/dash/nn"
	"github.com/dash-go/dash/tensor/cpu"
)

// Building a backbone whose searchable convolutions are chosen by name, as
// DASH's retraining stage does.
func ExampleBuild() {
	arch := map[string][2]int{"stem": {5, 1}, "stage3.block1.conv2": {7, 3}} // (kernel, dilation)
	factory := func(s nn.ConvSpec) (nn.Layer, error) {
		if kd, ok := arch[s.Name]; ok {
			s.Kernel, s.Dilation = kd[0], kd[1]
		}
		return nn.NewConv(s)
	}
	net, err := nn.Build(nn.Config{Name: "wrn", InShape: []int{3, 32, 32}, Outputs: 10, Width: 4,
		Seed: 1, Backend: cpu.Default(), Factory: factory})
	if err != nil {
		fmt.Println(err)
		return
	}
	specs := net.SearchableConvs()
	fmt.Println(len(specs), specs[0].Name, specs[12].Name)
	c := net.SearchableLayers()["stage3.block1.conv2"].(*nn.Conv)
	fmt.Println(c.Spec.Kernel, c.Spec.Dilation, c.Weight.Shape())
	fmt.Println(nn.NumParams(net)) // 2,748,890 for the default kernels
	// Output:
	// 13 stem stage3.block1.conv2
	// 7 3 [256 256 7 7]
	// 5371098
}
