// compare.js runs an ONNX model exported by 'dash export' with onnxruntime-node
// on fixed inputs and compares its outputs with reference arrays ('dash predict').
//
//   node compare.js model.onnx input.npy OUTPUT=expected.npy [OUTPUT=expected.npy ...] [--tol 1e-4]
//
// For every named output it prints one JSON line
//   {"output", "shape", "max_abs_diff", "scale", "relative", "ok"}
// where scale = max |expected| (at least 1e-6) and relative = max_abs_diff / scale.
// It exits 1 when an output's shape differs or relative > tol, 2 on bad usage.
'use strict';

const fs = require('fs');
const ort = require('onnxruntime-node');

// readNPY reads a little-endian float32 C-order .npy file.
function readNPY(path) {
  const b = fs.readFileSync(path);
  if (b.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = b[6];
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const off = major === 1 ? 10 : 12;
  const header = b.toString('latin1', off, off + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (descr !== '<f4') throw new Error(`${path}: dtype ${descr}, want <f4`);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${path}: Fortran order is not supported`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const start = off + hlen;
  const n = shape.reduce((a, c) => a * c, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = b.readFloatLE(start + 4 * i);
  return { shape, data };
}

async function main() {
  const args = process.argv.slice(2);
  let tol = 1e-4;
  const pos = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--tol') tol = Number(args[++i]);
    else pos.push(args[i]);
  }
  if (pos.length < 3) {
    console.error('usage: node compare.js model.onnx input.npy OUTPUT=expected.npy [...] [--tol 1e-4]');
    process.exit(2);
  }
  const [model, input, ...pairs] = pos;
  const x = readNPY(input);
  const session = await ort.InferenceSession.create(model);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x.data, x.shape) };
  const results = await session.run(feeds);
  let ok = true;
  for (const p of pairs) {
    const [name, file] = p.split('=');
    const want = readNPY(file);
    const got = results[name];
    if (!got) {
      console.log(JSON.stringify({ output: name, error: `no output ${name} (have ${session.outputNames})` }));
      ok = false;
      continue;
    }
    const shape = Array.from(got.dims, Number);
    if (shape.join(',') !== want.shape.join(',')) {
      console.log(JSON.stringify({ output: name, error: `shape ${shape} from onnxruntime, ${want.shape} expected` }));
      ok = false;
      continue;
    }
    let diff = 0;
    let scale = 1e-6;
    for (let i = 0; i < want.data.length; i++) {
      const d = Math.abs(got.data[i] - want.data[i]);
      if (!(d <= diff)) diff = d; // NaN propagates as a failure
      scale = Math.max(scale, Math.abs(want.data[i]));
    }
    const rel = diff / scale;
    const pass = rel <= tol;
    ok = ok && pass;
    console.log(JSON.stringify({ output: name, shape, max_abs_diff: diff, scale, relative: rel, ok: pass }));
  }
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
