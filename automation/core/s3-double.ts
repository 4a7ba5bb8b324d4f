// A stand-in for S3's object API as the shared store uses it (no AWS here): PUT with
// If-None-Match: * answers 412 when the key exists, PUT with If-Match answers 412 when the ETag
// differs (404 when the key is gone), GET, and ListObjectsV2. It records every request (method,
// path, conditional headers, encryption headers) so that tests pin exactly what the store sends,
// as the contract test pins the Pulumi CLI's arguments. Tests only.
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  ifNoneMatch?: string;
  ifMatch?: string;
  sse?: string;
  sseKey?: string;
}

export class S3Double {
  readonly objects = new Map<string, { body: string; etag: string }>();
  readonly requests: RecordedRequest[] = [];
  /** When set, every request waits this long before answering (a store that stops answering). */
  stallMs = 0;
  private server?: Server;
  private version = 0;

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req).then(({ status, body, headers }) => {
      res.writeHead(status, { "content-type": "application/xml", ...headers });
      res.end(body);
    }));
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: string; headers?: Record<string, string> }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (this.stallMs) await new Promise((r) => setTimeout(r, this.stallMs));
    const url = new URL(req.url ?? "/", "http://x");
    const h = (n: string) => (req.headers[n] as string | undefined) ?? undefined;
    this.requests.push({
      method: req.method ?? "",
      path: decodeURIComponent(url.pathname),
      query: [...url.searchParams.keys()].filter((k) => k !== "x-id").sort().join("&"),
      ifNoneMatch: h("if-none-match"),
      ifMatch: h("if-match"),
      sse: h("x-amz-server-side-encryption"),
      sseKey: h("x-amz-server-side-encryption-aws-kms-key-id"),
    });
    const [, bucket, ...rest] = decodeURIComponent(url.pathname).split("/");
    const key = rest.join("/");
    const full = `${bucket}/${key}`;
    const cur = this.objects.get(full);
    if (req.method === "GET" && url.searchParams.get("list-type") === "2") {
      const prefix = url.searchParams.get("prefix") ?? "";
      const keys = [...this.objects.keys()].filter((k) => k.startsWith(`${bucket}/${prefix}`)).map((k) => k.slice(bucket.length + 1)).sort();
      const contents = keys.map((k) => `<Contents><Key>${k}</Key></Contents>`).join("");
      return { status: 200, body: `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${bucket}</Name><KeyCount>${keys.length}</KeyCount><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>` };
    }
    if (req.method === "GET") {
      if (!cur) return { status: 404, body: error("NoSuchKey") };
      return { status: 200, body: cur.body, headers: { etag: cur.etag, "content-type": "application/json" } };
    }
    if (req.method === "PUT") {
      if (h("if-none-match") === "*" && cur) return { status: 412, body: error("PreconditionFailed") };
      if (h("if-match") !== undefined) {
        if (!cur) return { status: 404, body: error("NoSuchKey") };
        if (cur.etag !== h("if-match")) return { status: 412, body: error("PreconditionFailed") };
      }
      const body = Buffer.concat(chunks).toString("utf8");
      const etag = `"${createHash("md5").update(`${body}\0${++this.version}`).digest("hex")}"`;
      this.objects.set(full, { body, etag });
      return { status: 200, body: "", headers: { etag } };
    }
    return { status: 405, body: error("MethodNotAllowed") };
  }
}

function error(code: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`;
}
