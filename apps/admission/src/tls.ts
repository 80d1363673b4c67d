// The serving certificate, from files mounted from a Secret (cert-manager's `tls.crt` and
// `tls.key`). cert-manager renews it in place (the kubelet swaps the Secret volume's
// `..data` symlink), so the pair is read again every `reloadIntervalSeconds` and a new one
// goes live with `server.setSecureContext` without dropping connections. A pair that does
// not load (half-written, key not matching) is reported and the previous one kept.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { TlsInvalidError } from './errors.ts';

export interface TlsPair {
  cert: Buffer;
  key: Buffer;
  /** sha256 of both files: what the reload compares. */
  fingerprint: string;
}

/** Read and check a certificate/key pair; throws `FLOXK8S_ADMISSION_TLS_INVALID`. */
export function loadTlsPair(certFile: string, keyFile: string): TlsPair {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(certFile);
    key = readFileSync(keyFile);
  } catch (cause) {
    throw new TlsInvalidError(`cannot read the TLS pair ${certFile} / ${keyFile}: ${(cause as Error).message}`, { cause });
  }
  try {
    createSecureContext({ cert, key });
  } catch (cause) {
    throw new TlsInvalidError(`${certFile} and ${keyFile} do not make a TLS certificate and its key: ${(cause as Error).message}`, { cause });
  }
  return { cert, key, fingerprint: createHash('sha256').update(cert).update('\0').update(key).digest('hex') };
}

/** Poll the pair; `apply` gets each new valid pair, `onError` each unusable one. Returns a stop function. */
export function watchTlsPair(
  files: { certFile: string; keyFile: string },
  current: TlsPair,
  intervalMs: number,
  apply: (pair: TlsPair) => void,
  onError: (error: unknown) => void,
): () => void {
  let fingerprint = current.fingerprint;
  let failed: string | undefined;
  const timer = setInterval(() => {
    try {
      const pair = loadTlsPair(files.certFile, files.keyFile);
      failed = undefined;
      if (pair.fingerprint === fingerprint) return;
      fingerprint = pair.fingerprint;
      apply(pair);
    } catch (error) {
      // Report a broken pair once, not every interval.
      if (failed !== (error as Error).message) onError(error);
      failed = (error as Error).message;
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
