// ONNX Runtime's MatMul on the SGEMM anchor shapes of bench/RESULTS.md §3,
// for comparison with `go test -bench Gemm ./kernels`.
//
//   /usr/bin/python3 build_graphs.py --matmul 50x3072x768,50x768x3072,512x512x512,77x2048x512
//   node matmul.js [--threads 1,2] [--seconds 2] 50x3072x768 ...
//
// A shape is M×N×K as the table writes it: A [M, K] times a weight [K, N]
// (an initializer, as a linear layer's is). Each (shape, threads) runs in
// its own session (intraOpNumThreads = threads, graphOptimizationLevel
// 'all'), warmed up, then timed for about --seconds; it prints one JSON
// line with the GFLOPS.
'use strict';

const path = require('path');
const ort = require('onnxruntime-node');

async function main() {
  const args = process.argv.slice(2);
  let threads = [1, 2];
  let seconds = 2;
  const shapes = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--threads') threads = args[++i].split(',').map(Number);
    else if (args[i] === '--seconds') seconds = Number(args[++i]);
    else shapes.push(args[i]);
  }
  for (const sh of shapes) {
    const [m, n, k] = sh.split('x').map(Number);
    const file = path.join(__dirname, 'graphs', `matmul_${m}x${n}x${k}.onnx`);
    const a = new Float32Array(m * k).map((_, i) => Math.sin(i));
    const feeds = { a: new ort.Tensor('float32', a, [m, k]) };
    for (const t of threads) {
      const s = await ort.InferenceSession.create(file, {
        intraOpNumThreads: t, interOpNumThreads: 1,
        graphOptimizationLevel: 'all', executionMode: 'sequential',
      });
      for (let w = 0; w < 5; w++) await s.run(feeds);
      let runs = 0;
      const t0 = process.hrtime.bigint();
      let el = 0;
      while (el < seconds) {
        await s.run(feeds);
        runs++;
        el = Number(process.hrtime.bigint() - t0) / 1e9;
      }
      const gflops = 2 * m * n * k * runs / el / 1e9;
      console.log(JSON.stringify({ shape: sh, m, n, k, threads: t, runs, gflops: Number(gflops.toFixed(1)) }));
      await s.release();
    }
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
