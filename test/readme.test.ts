// The README's example must run as written: extract its TypeScript block and run it with node against the build
// (the snippet imports 'atc', which Node resolves to this package through its own "exports").
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('README', () => {
  it('the TypeScript example runs as written and prints what it promises', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block, 'README has a ```ts example').toBeDefined();
    execFileSync('npm', ['run', 'build:ts'], { cwd: ROOT, stdio: 'ignore' });
    // Inside the package, so that `import ... from 'atc'` resolves to it.
    const dir = mkdtempSync(join(ROOT, '.readme-'));
    try {
      const file = join(dir, 'example.mjs');
      writeFileSync(file, `${block}\nconsole.log('restored instruments:', again.instrumentCount, 'rejects:', rejects.length);\n`);
      const out = execFileSync(process.execPath, [file], { cwd: ROOT, encoding: 'utf8' });
      expect(out).toContain('restored instruments: 1 rejects: 0');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the three commands of the quick start', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const cmd of ['npm install', 'npm start', 'npm test']) expect(readme).toContain(cmd);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.start).toMatch(/cli\.js serve/);
    expect(pkg.scripts.demo).toMatch(/cli\.js demo/);
    expect(pkg.scripts.prepare).toBe('npm run build');
  });
});
