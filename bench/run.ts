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
  const state = {
    bytesPerInstrument: defaults.bytesPerInstrument, kib: defaults.bytesPerInstrument / 1024,
    bytesPerInstrumentHstOn: withHst.bytesPerInstrument, hstBytesPerInstrument: withHst.bytesPerInstrument - defaults.bytesPerInstrument,
    hstModelBytesPerArena: withHst.arenaBytes - defaults.arenaBytes - 64 * (withHst.bytesPerInstrument - defaults.bytesPerInstrument),
  };
  console.log(`\n## State\nbytes per instrument, default configuration: ${state.bytesPerInstrument} (${state.kib.toFixed(1)} KiB); ` +
    `HST on: ${state.bytesPerInstrumentHstOn}; HST's share: ${state.hstBytesPerInstrument} per instrument and ${state.hstModelBytesPerArena} (the trees) per arena`);

  const ratio = (a: Row | undefined, b: Row | undefined) => (a && b ? b.nsPerItem / a.nsPerItem : NaN);
  const summary = {
    kernelWasmNs: kernel[0].nsPerItem,
    kernelTsNs: kernel[1].nsPerItem,
    kernelTsOverWasm: ratio(kernel[0], kernel[1]),
    pipelineDefaultNs: pipeline[2].nsPerItem,
    pipelineSyntheticNs: pipeline[0].nsPerItem,
    pipelineHstOnNs: pipeline[3].nsPerItem,
    pipelineSyntheticHstOnNs: pipeline[1].nsPerItem,
    twinOverWasm: ratio(twin[0], twin[1]),
    bytesPerInstrument: state.bytesPerInstrument,
  };
  console.log(`\n## Against the targets\n- default pipeline: ${fmt(summary.pipelineDefaultNs)} ns/event on the real sample, ${fmt(summary.pipelineSyntheticNs)} on the synthetic mix (target <= 100); with HST: ${fmt(summary.pipelineHstOnNs)} and ${fmt(summary.pipelineSyntheticHstOnNs)}\n- rolling mean/var: ${fmt(summary.kernelWasmNs)} ns/update (target <= 3); TypeScript, same algorithm: ${fmt(summary.kernelTsNs)} ns (${summary.kernelTsOverWasm.toFixed(2)}x WASM; target >= 1.5x)\n- plain-TypeScript twin: ${summary.twinOverWasm.toFixed(1)}x the WASM time per event\n- state: ${state.kib.toFixed(1)} KiB per instrument (target <= 64 KiB)`);

  if (!quick) {
    const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
    mkdirSync(dir, { recursive: true });
    const out = { date: started.toISOString(), node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, summary, kernel, pipeline, twin, state };
    writeFileSync(`${dir}engine.json`, JSON.stringify(out, null, 2) + '\n');
    console.log(`\nsaved bench/results/engine.json`);
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
