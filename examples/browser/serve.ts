/**
 * A tiny static server for the browser example: only the files under examples/browser/, on
 * 127.0.0.1, cross-origin isolated (COOP + COEP headers) so that pages get SharedArrayBuffer and
 * loopgrad's worker threads (threads.html).
 *
 *   npx tsx examples/browser/serve.ts [--port 5173]    (--port 0: any free port)
 */
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

const types: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** The file a URL path names under `root`, or undefined if it is outside or of a type not served. */
const fileFor = (urlPath: string): string | undefined => {
  let path: string;
  try {
    path = decodeURIComponent(urlPath.split('?')[0]!);
  } catch {
    return undefined;
  }
  if (path.includes('\0')) return undefined;
  const file = resolve(root, `.${path.endsWith('/') ? `${path}index.html` : path}`);
  const rel = relative(root, file);
  if (rel === '' || rel.startsWith('..') || rel.split(sep).includes('..')) return undefined;
  return types[extname(file)] ? file : undefined;
};

/** Starts the server; resolves when it listens, with its URL. */
export const serve = (port = 5173): Promise<{ server: Server; url: string }> => {
  const server = createServer((req, res) => {
    const file = req.method === 'GET' || req.method === 'HEAD' ? fileFor(req.url ?? '/') : undefined;
    const fail = (code: number, text: string): void => {
      res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
    };
    if (file === undefined) return fail(req.method === 'GET' || req.method === 'HEAD' ? 404 : 405, 'not found\n');
    stat(file)
      .then((s) => (s.isFile() ? readFile(file) : Promise.reject(new Error('not a file'))))
      .then((body) => {
        res.writeHead(200, {
          'content-type': types[extname(file)]!, 'content-length': body.length, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff',
          // cross-origin isolation: SharedArrayBuffer, hence loopgrad's worker threads (threads.html)
          'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      })
      .catch(() => fail(404, 'not found\n'));
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const actual = typeof address === 'object' && address ? address.port : port;
      ok({ server, url: `http://127.0.0.1:${actual}/` });
    });
  });
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const port = i >= 0 ? Number(process.argv[i + 1]) : 5173;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port ${process.argv[i + 1]}: expected an integer 0…65535`);
    process.exit(2);
  }
  const { url } = await serve(port);
  console.log(`loopgrad browser example: ${url}  (Ctrl-C to stop)`);
}
