// Secrets (repository cipher passphrase, S3 keys, database passwords) must never reach a
// terminal, a log, a report or an error message. Every secret the toolkit loads is registered
// here, and every string that leaves the process passes through `redact`.

const secrets = new Set<string>();
const MASK = "[redacted]";

/** Registers a secret value so that it is masked wherever it would be printed. */
export function registerSecret(value: string | undefined | null): void {
  // Very short values would mask ordinary words; real secrets here are long and random.
  if (value && value.length >= 6) secrets.add(value);
}

/** Masks every registered secret and any `key=value` that names a secret-looking option. */
export function redact(text: string): string {
  let out = text;
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join(MASK);
  }
  // Belt and braces for values we were never told about: pgBackRest option spellings,
  // libpq connection strings and environment assignments.
  out = out.replace(
    /((?:cipher-pass|s3-key-secret|s3-key|s3-token|password|passphrase|PGPASSWORD|secret)[\s]*[=:][\s]*)("[^"]*"|'[^']*'|[^\s,;&"']+)/gi,
    (_m, k: string) => `${k}${MASK}`,
  );
  out = out.replace(/(postgres(?:ql)?:\/\/[^:/\s]+:)([^@\s]+)(@)/gi, `$1${MASK}$3`);
  return out;
}

/** Deep-redacts a JSON-able value (for reports and `--json` output). */
export function redactValue<T>(value: T): T {
  return JSON.parse(redact(JSON.stringify(value ?? null))) as T;
}

/** For tests: forget registered secrets. */
export function clearSecrets(): void {
  secrets.clear();
}
