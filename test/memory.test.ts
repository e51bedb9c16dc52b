// The module's promises to embedders: one import (env.memory), no allocation after init, no mutable globals.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Engine } from '../src/engine.js';
import { wasmPath } from '../src/wasm/load.js';
import { marketStream } from '../src/synthetic.js';

for (const build of ['release', 'debug'] as const) {
  describe(`${build} module`, () => {
    const module = new WebAssembly.Module(readFileSync(wasmPath(build)));

    it('imports only env.memory and exports only functions', () => {
      expect(WebAssembly.Module.imports(module)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
      const kinds = new Set(WebAssembly.Module.exports(module).map((e) => e.kind));
      expect([...kinds]).toEqual(['function']);
    });

    it('has no mutable globals (no state outside the arena)', () => {
      // Global section entries: walk the binary's sections; a mutable global has mutability byte 1.
      const bytes = readFileSync(wasmPath(build));
      let o = 8;
      const leb = (): number => { let r = 0, s = 0, b: number; do { b = bytes[o++]; r |= (b & 0x7f) << s; s += 7; } while (b & 0x80); return r >>> 0; };
      let mutable = 0, globals = 0;
      while (o < bytes.length) {
        const id = bytes[o++];
        const size = leb();
        const end = o + size;
        if (id === 6) {
          const count = leb();
          for (let i = 0; i < count; i++) {
            o++; // value type
            if (bytes[o++] === 1) mutable++;
            globals++;
            while (bytes[o++] !== 0x0b) { /* skip the init expression up to `end` */ }
          }
        }
        o = end;
      }
      expect(mutable).toBe(0);
      // The parser must really have read the global section: the debug build keeps the layout constants there as
      // immutable globals (the release build inlines them).
      if (build === 'debug') expect(globals).toBeGreaterThan(100);
    });

    it('never grows memory while ingesting', () => {
      const engine = Engine.create({ autoRegister: true }, { build, batchCapacity: 8192 });
      const memory = (engine as unknown as { region(): { kind: Uint32Array } }).region().kind.buffer;
      const before = memory.byteLength;
      const stream = marketStream({ seed: 9, instruments: [1, 2, 3, 4, 5], n: 50_000, jumps: [10_000, 30_000] });
      const r = engine.ingest(stream);
      expect(r.accepted).toBe(50_000);
      expect(engine.region().kind.buffer).toBe(memory); // same buffer: a grow would have detached it
      expect(memory.byteLength).toBe(before);
    });
  });
}
