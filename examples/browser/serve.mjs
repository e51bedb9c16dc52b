#!/usr/bin/env node
// A tiny static file server for the browser example (and for test/browser.test.ts and bench/embed.ts): the
// repository's root, read-only, on 127.0.0.1. WebAssembly.compileStreaming needs the application/wasm type.
//
//   node examples/browser/serve.mjs [--port 8080]     then open the printed address
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json; charset=utf-8', '.wasm': 'application/wasm',
  '.png': 'image/png', '.svg': 'image/svg+xml',
};

/**
 * Serve `root` at "/", and each directory of `mounts` at its prefix ({ '/bench/': '/tmp/x' }). Resolves to the
 * server's base address and a close function.
 */
export function serve({ root, mounts = {}, port = 0, host = '127.0.0.1' }) {
  const dirs = [...Object.entries(mounts), ['/', root]].map(([prefix, dir]) => [prefix, resolve(dir)]);
  const server = createServer((req, res) => {
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      return send(res, 400, 'bad request');
    }
    const [prefix, dir] = dirs.find(([p]) => path.startsWith(p));
    const file = resolve(join(dir, path.slice(prefix.length)));
    // Nothing outside the served directories, whatever the path says (.., encoded slashes).
    if (file !== dir && !file.startsWith(dir + sep)) return send(res, 403, 'forbidden');
    let target = file;
    try {
      if (statSync(target).isDirectory()) target = join(target, 'index.html');
      statSync(target);
    } catch {
      return send(res, 404, 'not found');
    }
    res.writeHead(200, { 'content-type': TYPES[extname(target)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    createReadStream(target).pipe(res);
  });
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      const { port: bound } = server.address();
      done({ url: `http://${host}:${bound}/`, close: () => new Promise((closed) => server.close(closed)) });
    });
  });
}

function send(res, status, text) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const i = process.argv.indexOf('--port');
  const { url } = await serve({ root: fileURLToPath(new URL('../../', import.meta.url)), port: i > 0 ? Number(process.argv[i + 1]) : 8080 });
  console.log(`serving the repository at ${url}; the example: ${url}examples/browser/`);
}
