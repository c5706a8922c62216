// ONNX Runtime side of `rosetta bench encoders --baseline ort`.
//
// A long-lived process: it reads one JSON command per line on stdin and
// answers each with one JSON line on stdout, in order. Progress and ORT's
// own messages go to stderr.
//
//   {"encoder":"image","batch":8,"threads":2,"precision":"float32","iterations":3}
//     -> {"encoder":"image","batch":8,"threads":2,"precision":"float32",
//         "iterations":3,"ms_per_item":..., "output_dims":[8,512]}
//   {"op":"close","encoder":"image","threads":2,"precision":"float32"}
//     -> {"closed":true}
//   anything that fails -> {"error":"..."} (the process keeps going)
//
// On start it prints {"ready":true,"ort":"<version>"}.
//
// One InferenceSession is kept per (encoder, precision, threads), created
// on first use with intraOpNumThreads = threads, interOpNumThreads 1,
// graphOptimizationLevel 'all' and executionMode 'sequential' (CPU
// execution provider). Before the first timed run of a session at a batch
// size it runs `warmup` untimed runs (default 2), so the optimiser, the
// weight pre-packing and the arena's growth for that batch are not timed.
// A timed command runs `iterations` times InferenceSession.run, each on
// the same input, and reports the wall time per item: the total divided by
// iterations × batch.
//
// Inputs match the Go side: images are deterministic pseudo-random pixels
// [batch, 3, 224, 224]; captions are 77 token ids, 1000+i with the
// end-of-text id 49407 last, repeated batch times.
//
// Usage: node driver.js [--graphs DIR]   (default: graphs/ next to this file)

'use strict';

const path = require('path');
const fs = require('fs');
const readline = require('readline');
const ort = require('onnxruntime-node');

const IMAGE = 224;
const CONTEXT = 77;
const EOT = 49407;

function argGraphs() {
  const i = process.argv.indexOf('--graphs');
  return i >= 0 && process.argv[i + 1] ? path.resolve(process.argv[i + 1]) : path.join(__dirname, 'graphs');
}

const graphs = argGraphs();
const sessions = new Map(); // "encoder/precision/threads" -> {session, warmed: Set of batch sizes}

function key(c) {
  return `${c.encoder}/${c.precision}/${c.threads}`;
}

function check(c) {
  if (c.encoder !== 'image' && c.encoder !== 'text') throw new Error(`encoder ${JSON.stringify(c.encoder)}: want image or text`);
  if (c.precision !== 'float32' && c.precision !== 'int8') throw new Error(`precision ${JSON.stringify(c.precision)}: want float32 or int8`);
  if (!Number.isInteger(c.threads) || c.threads < 1) throw new Error(`threads ${JSON.stringify(c.threads)}: want a positive integer`);
}

async function session(c) {
  const k = key(c);
  let s = sessions.get(k);
  if (s) return s;
  const file = path.join(graphs, `${c.encoder}_${c.precision}.onnx`);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run /usr/bin/python3 ${path.join(__dirname, 'build_graphs.py')}`);
  const t0 = process.hrtime.bigint();
  const sess = await ort.InferenceSession.create(file, {
    executionProviders: ['cpu'],
    intraOpNumThreads: c.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  process.stderr.write(`ort: ${k}: session created in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s\n`);
  s = { session: sess, warmed: new Set() };
  sessions.set(k, s);
  return s;
}

// A small deterministic generator (xorshift32) so every run feeds the same
// pixels without depending on Math.random.
function pixels(n) {
  const out = new Float32Array(n);
  let x = 2463534242;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = (x / 4294967296) * 4 - 2;
  }
  return out;
}

function feeds(c, sess) {
  const name = sess.inputNames[0];
  if (c.encoder === 'image') {
    return { [name]: new ort.Tensor('float32', pixels(c.batch * 3 * IMAGE * IMAGE), [c.batch, 3, IMAGE, IMAGE]) };
  }
  const ids = new BigInt64Array(c.batch * CONTEXT);
  for (let b = 0; b < c.batch; b++) {
    for (let i = 0; i < CONTEXT; i++) ids[b * CONTEXT + i] = BigInt(i === CONTEXT - 1 ? EOT : 1000 + i);
  }
  return { [name]: new ort.Tensor('int64', ids, [c.batch, CONTEXT]) };
}

async function time(c) {
  check(c);
  if (!Number.isInteger(c.batch) || c.batch < 1) throw new Error(`batch ${JSON.stringify(c.batch)}: want a positive integer`);
  const iterations = c.iterations === undefined ? 1 : c.iterations;
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`iterations ${JSON.stringify(c.iterations)}: want a positive integer`);
  const warmup = c.warmup === undefined ? 2 : c.warmup;
  const s = await session(c);
  const input = feeds(c, s.session);
  let out;
  if (!s.warmed.has(c.batch)) {
    for (let i = 0; i < warmup; i++) out = await s.session.run(input);
    s.warmed.add(c.batch);
  }
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) out = await s.session.run(input);
  const ns = Number(process.hrtime.bigint() - t0);
  const y = out[s.session.outputNames[0]];
  return {
    encoder: c.encoder, batch: c.batch, threads: c.threads, precision: c.precision, iterations,
    ms_per_item: ns / 1e6 / (iterations * c.batch), output_dims: y.dims.map(Number),
  };
}

async function close(c) {
  check(c);
  const s = sessions.get(key(c));
  if (s) {
    await s.session.release();
    sessions.delete(key(c));
  }
  return { closed: true };
}

async function main() {
  const version = require('onnxruntime-node/package.json').version;
  process.stdout.write(JSON.stringify({ ready: true, ort: version, graphs }) + '\n');
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let reply;
    try {
      const c = JSON.parse(line);
      reply = c.op === 'close' ? await close(c) : await time(c);
    } catch (e) {
      reply = { error: String(e && e.message ? e.message : e) };
    }
    process.stdout.write(JSON.stringify(reply) + '\n');
  }
  for (const s of sessions.values()) await s.session.release();
}

main().catch((e) => {
  process.stderr.write(`ort driver: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
