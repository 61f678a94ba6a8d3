/**
 * amocrm-js hard-codes `https://<domain>` on port 443 (dist/common/DomainRequest.js), so its real
 * code path needs HTTPS under a real amoCRM host name. The tests give it one: a self-signed
 * certificate for test.amocrm.ru, a TLS front on 127.0.0.1 that passes each request on to the
 * plain-HTTP stand-in unchanged, and an https.globalAgent that trusts the certificate and
 * connects that host to the front (any other host to `refusedPort`). The SDK builds its request
 * and reads the response as it would against amoCRM; the Host header stays test.amocrm.ru.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

export const AMO_HOST = 'test.amocrm.ru';

export interface TlsFront {
  close(): Promise<void>;
}

export async function startAmoFront(standInUrl: string, refusedPort: number): Promise<TlsFront> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-tls-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', `/CN=${AMO_HOST}`, '-addext', `subjectAltName=DNS:${AMO_HOST}`],
    {
      stdio: 'pipe',
    },
  );
  const key = fs.readFileSync(keyFile);
  const cert = fs.readFileSync(certFile);
  fs.rmSync(dir, { recursive: true, force: true });
  const target = new URL(standInUrl);
  const front = https.createServer({ key, cert }, (req, res) => {
    const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  const port = (front.address() as AddressInfo).port;
  const saved = https.globalAgent;
  const agent = new https.Agent({ ca: cert, keepAlive: false });
  // Where the name resolves to: the front for the amoCRM host, a closed port for any other.
  agent.createConnection = (options: tls.ConnectionOptions & { host?: string }) =>
    tls.connect({ ...options, host: '127.0.0.1', port: options.host === AMO_HOST ? port : refusedPort, servername: options.host, ca: cert });
  https.globalAgent = agent;
  return {
    close: async () => {
      https.globalAgent = saved;
      await new Promise((r) => front.close(r));
    },
  };
}
