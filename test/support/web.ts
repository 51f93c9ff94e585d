/**
 * examples/web for the browser tests: its server (examples/web/serve.js) as a
 * real process on a port of its own, serving the built app with /config.json
 * naming the gateway and identity provider under test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { WEB_SERVER } from '../../scripts/web-example.ts';

export interface WebServer {
  /** The app's origin, e.g. http://127.0.0.1:41234. */
  origin: string;
  child: ChildProcess;
  close(): Promise<void>;
}

/** Starts serve.js on `port` (with GATEWAY_URL, IDENTITY_URL); resolves once it listens. */
export function startWebServer(port: number, env: { GATEWAY_URL: string; IDENTITY_URL: string }): Promise<WebServer> {
  const child = spawn(process.execPath, [WEB_SERVER], {
    env: { ...process.env, ...env, WEB_PORT: String(port), WEB_HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const close = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve.js did not start within 15 s: ${output}`));
    }, 15_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!/the store is at/.test(output)) return;
      clearTimeout(timer);
      resolve({ origin: `http://127.0.0.1:${port}`, child, close });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve.js exited with ${code}: ${output}`));
    });
  });
}
