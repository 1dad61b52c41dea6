import { signerFor, type SigningTarget } from "./signed-fetch.js";

/**
 * A SigV4 presigned URL (query-string authentication) for a GET of one of Cairn's endpoints that
 * accepts one (`/export-events`, decision 0026): the credential scope, date, expiry and signature
 * travel in the query, the secret never does. Whoever holds the URL can make that one request, with
 * exactly these parameters, until it expires: keep `expiresInSeconds` short.
 *
 * @example
 * const url = await presignedUrl(target, { path: "/export-events", query: { format: "csv" } }, 300, new Date(clock.nowMs()));
 */
export async function presignedUrl(
  target: SigningTarget,
  request: { readonly path: string; readonly query: Record<string, string | string[]> },
  expiresInSeconds: number,
  signingDate: Date,
): Promise<string> {
  const base = new URL(target.endpointUrl);
  const basePath = base.pathname.replace(/\/+$/, "");
  const signed = await signerFor(target).presign(
    {
      method: "GET",
      protocol: base.protocol,
      hostname: base.hostname,
      ...(base.port ? { port: Number(base.port) } : {}),
      path: basePath + request.path,
      query: request.query,
      // SigV4 requires `host` among the signed headers; the browser sends the same value.
      headers: { host: base.host },
    },
    { expiresIn: expiresInSeconds, signingDate },
  );
  const url = new URL(basePath + request.path, base);
  for (const [name, value] of Object.entries(signed.query ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) if (one !== null) url.searchParams.append(name, one);
  }
  return url.toString();
}
