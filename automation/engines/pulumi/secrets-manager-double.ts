// A small HTTP stand-in for Secrets Manager's GetSecretValue (the JSON 1.1 protocol the SDK
// speaks), one per region, for tests: no AWS here. Records each request (target, region from
// the signature's scope, body) so tests pin what was asked; answers a stored value or, for a
// region marked down, a service error.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

export interface SecretsRequest {
  region: string;
  target: string;
  body: Record<string, unknown>;
}

export interface SecretsManagerDouble {
  requests: SecretsRequest[];
  /** A client for `region`, pointed at that region's double. */
  clientFor(region: string): SecretsManagerClient;
  close(): Promise<void>;
}

/** `secrets`: region → secret name → value; a region missing from it answers InternalServiceError. */
export async function startSecretsManagerDouble(secrets: Record<string, Record<string, string>>, regions: string[]): Promise<SecretsManagerDouble> {
  const requests: SecretsRequest[] = [];
  const servers = new Map<string, Server>();
  for (const region of regions) {
    const server = createServer((req, res) => {
      let text = "";
      req.on("data", (c: Buffer) => (text += c.toString()));
      req.on("end", () => {
        const body = JSON.parse(text || "{}") as Record<string, unknown>;
        const scope = /Credential=[^/]+\/\d+\/([^/]+)\/secretsmanager\//.exec(String(req.headers.authorization))?.[1] ?? "?";
        requests.push({ region: scope, target: String(req.headers["x-amz-target"]), body });
        const stored = secrets[region];
        const value = stored?.[String(body.SecretId)];
        res.setHeader("content-type", "application/x-amz-json-1.1");
        if (!stored) res.writeHead(500).end(JSON.stringify({ __type: "InternalServiceError", message: "region down" }));
        else if (value === undefined) res.writeHead(400).end(JSON.stringify({ __type: "ResourceNotFoundException", message: "Secrets Manager can't find the specified secret." }));
        else res.writeHead(200).end(JSON.stringify({ ARN: `arn:aws:secretsmanager:${region}:1:secret:${String(body.SecretId)}`, Name: body.SecretId, SecretString: value }));
      });
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    servers.set(region, server);
  }
  return {
    requests,
    clientFor: (region) =>
      new SecretsManagerClient({
        region,
        endpoint: `http://127.0.0.1:${(servers.get(region)!.address() as AddressInfo).port}`,
        credentials: { accessKeyId: "AKIDOUBLE", secretAccessKey: "double-secret" },
        maxAttempts: 1,
      }),
    close: async () => {
      await Promise.all([...servers.values()].map((s) => new Promise((ok) => s.close(ok))));
    },
  };
}
