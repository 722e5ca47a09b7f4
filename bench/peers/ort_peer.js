// ONNX Runtime worker of the peer comparison: the native libonnxruntime.so shipped in npm's
// onnxruntime-node, driven through its JavaScript API. A small server like the Python workers, with the same
// protocol as peer_common.py (JSON lines, same warm-up and run-count rule, each session.run timed alone
// with process.hrtime.bigint()).
//
//   node ort_peer.js '{"ort_module": ".../node_modules/onnxruntime-node", "models": DIR, "input": FILE,
//                      "size": 224, "budget": 1.0, "warmup": 3, "min_runs": 3, "max_runs": 200,
//                      "engine": "ort", "model_suffix": ""}'
//   then requests on stdin: {"variant": "s0", "threads": 1, "logits": ""} ... {"quit": true}
//   The model is DIR/<variant><model_suffix>.onnx: engine "ort-int8" runs the QDQ models (suffix "_int8").
//
//   node ort_peer.js '{"ort_module": ..., "size": 224, "threads": 1, "jobs": [{"model": M.onnx,
//                      "inputs": N.f32, "count": N, "output": LOGITS.f32, "optimized": OPT.onnx,
//                      "profile_prefix": P}, ...]}'
//   batch mode (no timing): runs each job's model on its N inputs (N x 3 x size x size float32) one at a
//   time and writes the N x classes logits; "optimized" (optional) saves the graph as ONNX Runtime optimized
//   it, "profile_prefix" (optional) writes ONNX Runtime's profile of those runs (P_<date>.json). One
//   {"type": "done", "model": M, "seconds": S} line per job.
//
// Session: CPU execution provider, graphOptimizationLevel "all", executionMode "sequential",
// intraOpNumThreads = threads, interOpNumThreads = 1; one preallocated input tensor; only session.run is
// timed.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');

function emit(record) {
  process.stdout.write(JSON.stringify(record) + '\n');
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

async function timeOnce(run) {
  const t0 = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - t0) * 1e-6;
}

async function measure(run, spec) {
  const warm = [];
  const started = process.hrtime.bigint();
  for (let i = 0; i < Math.max(1, spec.warmup); ++i) {
    warm.push(await timeOnce(run));
    if (Number(process.hrtime.bigint() - started) * 1e-9 >= spec.budget / 2) break;
  }
  const estimate = Math.max(Math.min(...warm), 1e-3);
  const runs = Math.max(spec.min_runs, Math.min(spec.max_runs, Math.ceil((spec.budget * 1e3) / estimate)));
  const samples = [];
  for (let i = 0; i < runs; ++i) samples.push(await timeOnce(run));
  return { median_ms: median(samples), min_ms: Math.min(...samples), runs, warmup: warm.length };
}

function sessionOptions(threads, extra) {
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    ...extra,
  };
}

function readFloats(file) {
  const bytes = fs.readFileSync(file);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

async function runJobs(ort, spec) {
  const plane = 3 * spec.size * spec.size;
  for (const job of spec.jobs) {
    const started = process.hrtime.bigint();
    const extra = {};
    if (job.optimized) extra.optimizedModelFilePath = job.optimized;
    if (job.profile_prefix) Object.assign(extra, { enableProfiling: true, profileFilePrefix: job.profile_prefix });
    const session = await ort.InferenceSession.create(job.model, sessionOptions(spec.threads, extra));
    const inputs = readFloats(job.inputs);
    if (inputs.length < job.count * plane) throw new Error(`${job.inputs}: expected ${job.count} inputs`);
    const chunks = [];
    for (let i = 0; i < job.count; ++i) {
      const x = new ort.Tensor('float32', inputs.subarray(i * plane, (i + 1) * plane), [1, 3, spec.size, spec.size]);
      const out = await session.run({ [session.inputNames[0]]: x });
      const logits = out[session.outputNames[0]].data;
      chunks.push(Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength));
    }
    if (job.profile_prefix) session.endProfiling();
    await session.release();
    if (job.output) fs.writeFileSync(job.output, Buffer.concat(chunks));
    emit({ type: 'done', model: job.model, seconds: Number(process.hrtime.bigint() - started) * 1e-9 });
  }
}

async function main() {
  const spec = JSON.parse(process.argv[2]);
  const engine = spec.engine || 'ort';
  let ort, version;
  try {
    ort = require(spec.ort_module);
    version = require(path.join(spec.ort_module, 'package.json')).version;
  } catch (e) {
    emit({ type: 'unavailable', engine, reason: `cannot load onnxruntime-node from ${spec.ort_module}: ${e.message}` });
    return;
  }
  if (spec.jobs) {
    await runJobs(ort, spec);
    return;
  }
  const bytes = fs.readFileSync(spec.input);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  if (data.length !== 3 * spec.size * spec.size) throw new Error(`${spec.input}: wrong size`);
  const input = new ort.Tensor('float32', data, [1, 3, spec.size, spec.size]);
  emit({ type: 'info', engine, version: `ONNX Runtime ${version} (npm onnxruntime-node, native CPU EP; node ${process.version})` });

  // Requests on stdin, one JSON object per line (peer_common.py). intraOpNumThreads is a session option, so
  // each request gets its own session (created and released outside the timing).
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const request = JSON.parse(line);
    if (request.quit) break;
    const { variant, threads } = request;
    const model = path.join(spec.models, `${variant}${spec.model_suffix || ''}.onnx`);
    let session;
    try {
      if (!fs.existsSync(model)) throw new Error(`${model} missing (the ONNX export needs PyTorch)`);
      session = await ort.InferenceSession.create(model, sessionOptions(threads, {}));
      const feeds = { [session.inputNames[0]]: input };
      const result = await measure(() => session.run(feeds), spec);
      if (request.logits) {
        const out = await session.run(feeds);
        const logits = out[session.outputNames[0]].data;
        fs.writeFileSync(request.logits, Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength));
      }
      emit({ type: 'result', engine, variant, threads, actual_threads: threads, ...result });
    } catch (e) {
      emit({ type: 'error', engine, variant, threads, reason: String(e && e.message ? e.message : e) });
    } finally {
      if (session) await session.release();
    }
  }
}

main().catch((e) => {
  emit({ type: 'unavailable', engine: JSON.parse(process.argv[2]).engine || 'ort', reason: String(e && e.message ? e.message : e) });
});
