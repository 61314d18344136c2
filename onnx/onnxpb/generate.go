// Package onnxpb holds the Go types of the ONNX protobuf schema, generated
// by protoc and protoc-gen-go from onnx.proto as shipped by ONNX 1.12.0
// (Debian's python3-onnx, /usr/lib/python3/dist-packages/onnx/onnx.proto),
// committed unmodified beside the generated code.
//
// Regenerate with protoc 3.21 (Debian protobuf-compiler) and
// protoc-gen-go v1.36.12 (go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12):
//
//	go generate ./onnx/onnxpb
package onnxpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/dash-go/dash/onnx/onnxpb onnx.proto
