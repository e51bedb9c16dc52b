// `npm run bench`: every engine benchmark in one run, printed as tables and saved to bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Engine } from '../src/engine.js';
import { kernelBench } from './kernel.js';
import { captureBatch, pipelineBench } from './pipeline.js';
import { twinBench } from './twin.js';
import { fmt, printTable, type Row } from './common.js';

const quick = process.argv.includes('--quick');

async function main(): Promise<void> {
  const started = new Date();
  console.log(`atc engine benchmarks — ${started.toISOString()} — node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}`);
  const kernel = await kernelBench({ n: quick ? 1 << 15 : 1 << 18 });
  printTable('Rolling mean/variance kernel (ns per update)', kernel);
  const sample = fileURLToPath(new URL('../../data/samples/binance-usdm-btcusdt.txt.gz', import.meta.url));
  const real = await captureBatch(sample);
  const pipeline = await pipelineBench({ n: quick ? 20_000 : 200_000, extra: [{ name: `real Binance BTCUSDT perpetual sample (${real.length} trades and quotes)`, batch: real }] });
  printTable('Engine (ns per event, one thread)', pipeline);
  const twin = await twinBench({ n: quick ? 2_000 : 20_000 });
  printTable('WASM against the plain-TypeScript twin, same stream (ns per event)', twin);

  const defaults = Engine.create();
  const withHst = Engine.create({ learned: { hst: { enabled: true } } });
  const withOcsvm = Engine.create({ learned: { ocsvm: { enabled: true } } });
  const noRls = Engine.create({ learned: { rls: { enabled: false } } });
  const withCombine = Engine.create({ learned: { combine: { mode: 'kOfN', members: ['spread.zscore', 'fairValue.rls'], k: 2 } } });
  const share = (e: Engine, base: Engine) => e.bytesPerInstrument - base.bytesPerInstrument;
  const state = {
    bytesPerInstrument: defaults.bytesPerInstrument, kib: defaults.bytesPerInstrument / 1024,
    bytesPerInstrumentHstOn: withHst.bytesPerInstrument, hstBytesPerInstrument: share(withHst, defaults),
    hstModelBytesPerArena: withHst.arenaBytes - defaults.arenaBytes - 64 * share(withHst, defaults),
    bytesPerInstrumentOcsvmOn: withOcsvm.bytesPerInstrument, ocsvmBytesPerInstrument: share(withOcsvm, defaults),
    ocsvmModelBytesPerArena: withOcsvm.arenaBytes - defaults.arenaBytes - 64 * share(withOcsvm, defaults),
    bytesPerInstrumentRlsOff: noRls.bytesPerInstrument, rlsBytesPerInstrument: share(defaults, noRls),
    bytesPerInstrumentCombineOn: withCombine.bytesPerInstrument, combineBytesPerInstrument: share(withCombine, defaults),
  };
  console.log(`\n## State\nbytes per instrument, default configuration (RLS on): ${state.bytesPerInstrument} (${state.kib.toFixed(1)} KiB); ` +
    `HST on: ${state.bytesPerInstrumentHstOn} (+${state.hstBytesPerInstrument}, trees ${state.hstModelBytesPerArena} per arena); ` +
    `OCSVM on: ${state.bytesPerInstrumentOcsvmOn} (+${state.ocsvmBytesPerInstrument}, features ${state.ocsvmModelBytesPerArena} per arena); ` +
    `RLS off: ${state.bytesPerInstrumentRlsOff} (RLS's share ${state.rlsBytesPerInstrument}); combination on: ${state.bytesPerInstrumentCombineOn} (+${state.combineBytesPerInstrument})`);

  const ratio = (a: Row | undefined, b: Row | undefined) => (a && b ? b.nsPerItem / a.nsPerItem : NaN);
  const row = (prefix: string): Row => pipeline.find((r) => r.name.startsWith(prefix)) ?? { name: prefix, nsPerItem: NaN, p99NsPerItem: NaN, iterations: 0, items: 0 };
  const summary = {
    kernelWasmNs: kernel[0].nsPerItem,
    kernelTsNs: kernel[1].nsPerItem,
    kernelTsOverWasm: ratio(kernel[0], kernel[1]),
    pipelineDefaultNs: row('default pipeline, wasm: real').nsPerItem,
    pipelineSyntheticNs: row('default pipeline, wasm: synthetic').nsPerItem,
    pipelineHstOnNs: row('default pipeline + HST, wasm: real').nsPerItem,
    pipelineSyntheticHstOnNs: row('default pipeline + HST, wasm: synthetic').nsPerItem,
    pipelineOcsvmOnNs: row('default pipeline + OCSVM, wasm: real').nsPerItem,
    pipelineSyntheticOcsvmOnNs: row('default pipeline + OCSVM, wasm: synthetic').nsPerItem,
    rlsEveryMarkNs: row('default pipeline (RLS on), RLS stepping').nsPerItem,
    rlsOffSameStreamNs: row('default pipeline, RLS off, same stream').nsPerItem,
    twinOverWasm: ratio(twin[0], twin[1]),
    bytesPerInstrument: state.bytesPerInstrument,
  };
  console.log(`\n## Against the targets\n- default pipeline: ${fmt(summary.pipelineDefaultNs)} ns/event on the real sample, ${fmt(summary.pipelineSyntheticNs)} on the synthetic mix (target <= 100); with HST: ${fmt(summary.pipelineHstOnNs)} and ${fmt(summary.pipelineSyntheticHstOnNs)}; with OCSVM: ${fmt(summary.pipelineOcsvmOnNs)} and ${fmt(summary.pipelineSyntheticOcsvmOnNs)}\n- RLS stepping on every mark (quote + mark stream): ${fmt(summary.rlsEveryMarkNs)} ns/event, ${fmt(summary.rlsOffSameStreamNs)} with RLS off\n- rolling mean/var: ${fmt(summary.kernelWasmNs)} ns/update (target <= 3); TypeScript, same algorithm: ${fmt(summary.kernelTsNs)} ns (${summary.kernelTsOverWasm.toFixed(2)}x WASM; target >= 1.5x)\n- plain-TypeScript twin: ${summary.twinOverWasm.toFixed(1)}x the WASM time per event\n- state: ${state.kib.toFixed(1)} KiB per instrument (target <= 64 KiB)`);

  if (!quick) {
    const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
    mkdirSync(dir, { recursive: true });
    const out = { date: started.toISOString(), node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, summary, kernel, pipeline, twin, state };
    writeFileSync(`${dir}engine.json`, JSON.stringify(out, null, 2) + '\n');
    console.log(`\nsaved bench/results/engine.json`);
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
