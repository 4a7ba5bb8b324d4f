// Proves the lab's offsite store answers, the way pgBackRest will use it: an S3 HeadBucket
// signed with the lab's key, path-style, over TLS verified against the lab CA for the endpoint
// name, at the store's address (pgBackRest's repo-storage-host). One attempt, bounded in
// seconds: a dead store is named at once instead of after pgBackRest's minutes of retries.
import { readFileSync } from "node:fs";
import { Agent } from "node:https";
import { DrError } from "../../core/errors";

/** What the probe needs of a store: where it is, its CA, its bucket and the key that opens it. */
export interface ObjectStoreProbeTarget {
  /** The S3 endpoint name (repo-s3-endpoint); the server certificate is issued for it. */
  endpoint: string;
  /** The address to connect to instead of resolving the endpoint (repo-storage-host). */
  host: string;
  port: number;
  bucket: string;
  region: string;
  /** The lab CA certificate (repo-storage-ca-file), readable by the service user. */
  caFile: string;
  accessKey: string;
  secretKey: string;
}

type Failure = Error & { code?: string; $metadata?: { httpStatusCode?: number } };

/**
 * Throws STORE_UNREACHABLE (details.reason refused, tls, timeout, no-bucket, http or the
 * socket's error code) when the store is down, its certificate does not verify, the bucket is
 * missing or the key is refused.
 */
export async function probeObjectStore(info: ObjectStoreProbeTarget, timeoutMs = 5_000): Promise<void> {
  let ca: Buffer;
  try {
    ca = readFileSync(info.caFile);
  } catch (e) {
    throw new DrError("STORE_UNREACHABLE", `cannot read the object store ca file ${info.caFile}`, { cause: e, hint: "start the lab (dr lab up) to create it" });
  }
  // Required here, not imported: loading the SDK costs a second that `dr --help` must not pay.
  const { HeadBucketCommand, S3Client } = require("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3");
  const client = new S3Client({
    region: info.region,
    endpoint: `https://${info.host}:${info.port}`,
    forcePathStyle: true,
    credentials: { accessKeyId: info.accessKey, secretAccessKey: info.secretKey },
    maxAttempts: 1,
    // The certificate is checked for the endpoint name (servername), not the address.
    requestHandler: { httpsAgent: new Agent({ ca, servername: info.endpoint }), connectionTimeout: timeoutMs, requestTimeout: timeoutMs },
  });
  try {
    await client.send(new HeadBucketCommand({ Bucket: info.bucket }), { abortSignal: AbortSignal.timeout(2 * timeoutMs) });
  } catch (e) {
    throw storeFailure(info, e as Failure, timeoutMs);
  } finally {
    client.destroy();
  }
}

function storeFailure(info: ObjectStoreProbeTarget, e: Failure, timeoutMs: number): DrError {
  const where = `${info.endpoint} (${info.host}:${info.port})`;
  const status = e.$metadata?.httpStatusCode;
  if (status === 404) {
    return new DrError("STORE_UNREACHABLE", `object store ${where} answers but bucket ${info.bucket} does not exist`, {
      details: { endpoint: info.endpoint, bucket: info.bucket, reason: "no-bucket" },
      hint: "restart the object store (dr lab down, dr lab up): it creates the bucket at start",
    });
  }
  if (status !== undefined) {
    return new DrError("STORE_UNREACHABLE", `object store ${where} answered http ${status} for bucket ${info.bucket}`, {
      details: { endpoint: info.endpoint, status, reason: "http" },
      hint: status === 403 ? "the store refused the lab's s3 key: restart it (dr lab down, dr lab up) so it takes the key in the lab's secrets" : "read object-store.log in the object store directory",
    });
  }
  const refused = e.code === "ECONNREFUSED";
  const tls = typeof e.code === "string" && /CERT|SSL|TLS|SELF_SIGNED|ALTNAME|UNABLE_TO/.test(e.code);
  const timeout = e.name === "TimeoutError" || e.name === "AbortError";
  const what = refused ? "refused the connection" : tls ? `failed tls verification (${e.code})` : timeout ? `did not answer within ${timeoutMs} ms` : `did not answer: ${e.message}`;
  return new DrError("STORE_UNREACHABLE", `object store ${where} ${what}`, {
    cause: e,
    details: { endpoint: info.endpoint, host: info.host, port: info.port, reason: refused ? "refused" : tls ? "tls" : timeout ? "timeout" : e.code ?? "error" },
    hint: tls
      ? `the store's certificate does not verify against ${info.caFile}; restart the object store (dr lab down, dr lab up) to remake it`
      : "the offsite object store is down: start it with `dr lab up` (its log is object-store.log in the store directory)",
  });
}
