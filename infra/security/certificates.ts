/**
 * The secured stack's TLS material: a throwaway certificate authority and one server certificate
 * (for the broker and the registry) signed by it, made with the system's `openssl` at start-up.
 * Nothing here is meant to outlive the stack; production clusters bring their own PKI.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StackError } from '../../lib/core/errors.js';

const run = promisify(execFile);
/** `openssl req` arguments for a new, unencrypted EC P-256 key written to the file that follows. */
const NEW_P256_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout'];

export interface StackCertificates {
  /** PEM: the CA certificate clients trust. */
  readonly caFile: string;
  /** PEM: the server's certificate. */
  readonly certFile: string;
  /** PEM: the server's PKCS#8 private key, unencrypted, readable by its owner only. */
  readonly keyFile: string;
  /** PEM: key then certificate, the layout Kafka's PEM key store reads. */
  readonly keyStoreFile: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (cause) {
    const output = cause as { stderr?: string; code?: string };
    throw new StackError(
      'TRIB_CONFIG_INVALID',
      output.code === 'ENOENT'
        ? 'the secured stack needs the openssl command (apt-get install openssl)'
        : `openssl ${args[0]} failed`,
      { cause, logTail: output.stderr ?? '' },
    );
  }
}

/**
 * Writes ca.pem, server.pem, server.key and server-keystore.pem into `dir`. `hosts` become the
 * server certificate's subject alternative names (IPs as IP entries), so hostname verification
 * stays on in every client.
 */
export async function createStackCertificates(
  dir: string,
  hosts: readonly string[] = ['localhost', '127.0.0.1'],
): Promise<StackCertificates> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const san = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  const days = '30';
  await openssl(
    [
      'req',
      '-x509',
      ...NEW_P256_KEY,
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      days,
      '-subj',
      '/CN=Tributary stack CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  await openssl(
    ['req', ...NEW_P256_KEY, 'server.key', '-out', 'server.csr', '-subj', '/CN=tributary-stack'],
    dir,
  );
  writeFileSync(
    join(dir, 'server.ext'),
    `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`,
  );
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      days,
      '-extfile',
      'server.ext',
    ],
    dir,
  );
  const keyStoreFile = join(dir, 'server-keystore.pem');
  writeFileSync(
    keyStoreFile,
    readFileSync(join(dir, 'server.key'), 'utf8') + readFileSync(join(dir, 'server.pem'), 'utf8'),
    { mode: 0o600 },
  );
  return {
    caFile: join(dir, 'ca.pem'),
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server.key'),
    keyStoreFile,
  };
}
