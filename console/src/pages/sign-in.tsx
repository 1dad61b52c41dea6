import { useEffect, useState, type FormEvent } from "react";
import { ListTrailsCommand } from "@aws-sdk/client-cloudtrail";
import { cloudTrailClient, describeError } from "../api/cloudtrail.js";
import { fetchServerFacts, type ServerFacts, type Session } from "../api/session.js";
import { ErrorBanner } from "../components/status.js";

export interface SignInPageProps {
  readonly onSignedIn: (session: Session, remember: boolean) => void;
}

/** Credentials are checked with one signed call before the console opens, so a typo shows here, not later. */
export function SignInPage({ onSignedIn }: SignInPageProps) {
  const [facts, setFacts] = useState<ServerFacts | undefined>();
  const [factsError, setFactsError] = useState<string | undefined>();
  const [accessKeyId, setAccessKeyId] = useState("");
  const [secretAccessKey, setSecretAccessKey] = useState("");
  const [region, setRegion] = useState("");
  const [remember, setRemember] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    const controller = new AbortController();
    fetchServerFacts(controller.signal)
      .then((found) => {
        setFacts(found);
        setRegion((current) => current || found.region);
      })
      .catch((problem: unknown) => {
        if (!controller.signal.aborted) setFactsError(describeError(problem).message);
      });
    return () => controller.abort();
  }, []);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    const session: Session = {
      accessKeyId: accessKeyId.trim(),
      secretAccessKey: secretAccessKey.trim(),
      region: region.trim() || facts?.region || "us-east-1",
      accountId: facts?.accountId ?? "",
    };
    try {
      await cloudTrailClient(session).send(new ListTrailsCommand({}));
      onSignedIn(session, remember);
    } catch (problem) {
      setError(describeError(problem).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="sign-in">
      <form onSubmit={(event) => void submit(event)} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">
          <span aria-hidden="true">▲</span> Cairn
        </h1>
        <p className="muted">
          Sign in with an access key of this server: the admin key is in <code>&lt;data-dir&gt;/credentials</code>;{" "}
          <code>cairn principal add</code> makes more.
        </p>
        {factsError && <ErrorBanner title="Cairn is not reachable" message={factsError} />}
        {facts && (
          <p className="muted">
            Account <strong>{facts.accountId}</strong>, home region <strong>{facts.region}</strong>
          </p>
        )}
        <label>
          Access key ID
          <input
            name="accessKeyId"
            autoComplete="username"
            required
            value={accessKeyId}
            onChange={(event) => setAccessKeyId(event.target.value)}
            autoFocus
          />
        </label>
        <label>
          Secret access key
          <input
            name="secretAccessKey"
            type="password"
            autoComplete="current-password"
            required
            value={secretAccessKey}
            onChange={(event) => setSecretAccessKey(event.target.value)}
          />
        </label>
        <label>
          Region
          <input name="region" value={region} onChange={(event) => setRegion(event.target.value)} />
        </label>
        <label className="inline">
          <input type="checkbox" checked={remember} onChange={(event) => setRemember(event.target.checked)} />
          Remember me on this browser
        </label>
        {error && <ErrorBanner title="Sign-in failed" message={error} />}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
