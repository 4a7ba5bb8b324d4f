// The shared store as objects in an S3 bucket (declared by the secondary stack: versioned,
// encrypted, in the region that survives the primary's). S3's conditional writes give the
// lease its atomicity, as Terraform's S3 lock file (`use_lockfile`) relies on:
//   create   PutObject with If-None-Match: *     412 PreconditionFailed when the key exists
//   replace  PutObject with If-Match: <etag>     412 when it changed, 404 when it is gone
// A 409 ConditionalRequestConflict (two conditional writes racing) is a lost race as well.
// Every call is bounded (request timeout, bounded retries by the SDK).
// The lab's own store (engines/local/shared-store.ts) is reached by this same class, over TLS
// verified against the lab CA, for the documents only: it ignores both conditions.
import { Agent } from "node:https";
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type PutObjectCommandInput,
} from "@aws-sdk/client-s3";
import { DrError } from "./errors";
import { checkKey, type SharedStore, type StoredDocument } from "./shared-store";

export interface S3StoreOptions {
  bucket: string;
  region: string;
  /** Key prefix inside the bucket, e.g. "fp-dr/" (ends with "/" or is empty). */
  prefix: string;
  /** SSE-KMS key (id, ARN or alias); else the bucket's default encryption. */
  kmsKeyId?: string;
  /** Endpoint override (a test double); AWS's otherwise. */
  endpoint?: string;
  /** Per-request bound. Default 10 s. */
  timeoutMs?: number;
  /**
   * Credentials for a double or the lab (a function is asked before every request: the lab's key
   * can be rotated mid-run); the SDK's default chain otherwise.
   */
  credentials?: Credentials | (() => Promise<Credentials>);
  /** A private CA and the name its certificate is issued for (the lab's store on loopback). */
  tls?: { ca: string | Buffer; servername: string };
  /** What to check when it does not answer. Default: the bucket, the credentials, the path to the secondary region. */
  unreachableHint?: string;
}

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The SDK keeps credentials until they near their expiration: expiring now, they are asked for again. */
function freshEachRequest(get: () => Promise<Credentials>) {
  return async () => ({ ...(await get()), expiration: new Date() });
}

function statusOf(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

export class S3SharedStore implements SharedStore {
  private readonly client: S3Client;

  constructor(private readonly o: S3StoreOptions) {
    this.client = new S3Client({
      region: o.region,
      endpoint: o.endpoint,
      forcePathStyle: o.endpoint !== undefined,
      credentials: typeof o.credentials === "function" ? freshEachRequest(o.credentials) : o.credentials,
      maxAttempts: 3,
      ...(o.tls ? { requestHandler: { httpsAgent: new Agent({ ca: o.tls.ca, servername: o.tls.servername }) } } : {}),
    });
  }

  /** Every call is bounded as a whole (retries included): a store that stops answering is an error in seconds. */
  private bounded() {
    return { abortSignal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000) };
  }

  get where(): string {
    return `s3://${this.o.bucket}/${this.o.prefix}`;
  }

  private key(key: string): string {
    return `${this.o.prefix}${checkKey(key)}`;
  }

  private failed(what: string, e: unknown): DrError {
    return new DrError("STORE_UNREACHABLE", `the shared store ${this.where} did not answer ${what}: ${(e as { code?: string }).code ?? (e as Error).name ?? "error"} (${statusOf(e) ?? "no status"})`, {
      hint: this.o.unreachableHint ?? "check the bucket, the credentials and the network path to the secondary region; nothing was changed",
      cause: e,
    });
  }

  async get(key: string): Promise<StoredDocument | undefined> {
    const Key = this.key(key);
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.o.bucket, Key }), this.bounded());
      return { body: (await r.Body?.transformToString("utf8")) ?? "", etag: r.ETag ?? "" };
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw this.failed(`reading ${key}`, e);
    }
  }

  private async write(key: string, body: string, condition: Pick<PutObjectCommandInput, "IfNoneMatch" | "IfMatch">): Promise<{ etag: string } | undefined> {
    const input: PutObjectCommandInput = {
      Bucket: this.o.bucket,
      Key: this.key(key),
      Body: body,
      ContentType: "application/json",
      ...condition,
      ...(this.o.kmsKeyId ? { ServerSideEncryption: "aws:kms", SSEKMSKeyId: this.o.kmsKeyId } : {}),
    };
    try {
      const r = await this.client.send(new PutObjectCommand(input), this.bounded());
      return { etag: r.ETag ?? "" };
    } catch (e) {
      const status = statusOf(e);
      if ((condition.IfNoneMatch || condition.IfMatch) && (status === 412 || status === 409 || (condition.IfMatch && status === 404))) return undefined;
      throw this.failed(`writing ${key}`, e);
    }
  }

  create(key: string, body: string) {
    return this.write(key, body, { IfNoneMatch: "*" });
  }

  replace(key: string, body: string, etag: string) {
    return this.write(key, body, { IfMatch: etag });
  }

  async put(key: string, body: string): Promise<{ etag: string }> {
    return (await this.write(key, body, {}))!;
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    const Prefix = this.key(prefix.replace(/\/$/, "")) + "/";
    try {
      do {
        const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.o.bucket, Prefix, ContinuationToken: token }), this.bounded());
        for (const o of r.Contents ?? []) if (o.Key) keys.push(o.Key.slice(this.o.prefix.length));
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
    } catch (e) {
      throw this.failed(`listing ${prefix}`, e);
    }
    return keys.sort();
  }
}
