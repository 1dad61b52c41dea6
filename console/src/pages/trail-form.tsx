import { useState, type FormEvent } from "react";
import {
  CreateTrailCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
  UpdateTrailCommand,
  type ReadWriteType,
} from "@aws-sdk/client-cloudtrail";
import { useSession } from "../session-context.js";
import { describeError } from "../api/cloudtrail.js";
import { emptyTrailForm, selectorsFromForm, type TrailFormValue } from "../api/trail-form.js";
import { ErrorBanner } from "../components/status.js";

type SetField = <K extends keyof TrailFormValue>(key: K, value: TrailFormValue[K]) => void;

function SelectorFields({ form, set }: { form: TrailFormValue; set: SetField }) {
  return (
    <fieldset className="panel">
      <legend>Event selectors</legend>
      <div className="buttons">
        <label className="inline">
          <input
            type="radio"
            name="selectorMode"
            checked={form.selectorMode === "basic"}
            onChange={() => set("selectorMode", "basic")}
          />
          Basic event selectors
        </label>
        <label className="inline">
          <input
            type="radio"
            name="selectorMode"
            checked={form.selectorMode === "advanced"}
            onChange={() => set("selectorMode", "advanced")}
          />
          Advanced event selectors
        </label>
      </div>
      {form.selectorMode === "basic" ? (
        <div className="form-grid" style={{ marginTop: 12 }}>
          <label>
            Management events
            <select
              name="management"
              value={form.management}
              onChange={(event) => set("management", event.target.value as ReadWriteType | "None")}
            >
              <option value="All">Read and write</option>
              <option value="ReadOnly">Read only</option>
              <option value="WriteOnly">Write only</option>
              <option value="None">None</option>
            </select>
          </label>
          <label>
            S3 data events (one ARN per line; arn:aws:s3 for all buckets)
            <textarea
              name="s3Resources"
              rows={3}
              value={form.s3Resources}
              placeholder="arn:aws:s3:::my-bucket/"
              onChange={(event) => set("s3Resources", event.target.value)}
            />
          </label>
          <label>
            Lambda data events (one ARN per line; arn:aws:lambda for all functions)
            <textarea
              name="lambdaResources"
              rows={3}
              value={form.lambdaResources}
              placeholder="arn:aws:lambda:us-east-1:123456789012:function:my-function"
              onChange={(event) => set("lambdaResources", event.target.value)}
            />
          </label>
        </div>
      ) : (
        <label style={{ marginTop: 12 }}>
          Advanced event selectors (JSON, as PutEventSelectors takes them)
          <textarea
            name="advancedSelectors"
            rows={10}
            spellCheck={false}
            className="code"
            value={form.advancedJson}
            onChange={(event) => set("advancedJson", event.target.value)}
          />
        </label>
      )}
    </fieldset>
  );
}

export interface TrailFormProps {
  readonly mode: "create" | "edit";
  readonly initial?: TrailFormValue;
  readonly trailArn?: string;
  readonly onDone: (message: string) => void;
  readonly onCancel: () => void;
}

/**
 * Create or edit a trail: CreateTrail/UpdateTrail, then PutEventSelectors, then (new trails) StartLogging —
 * the same three calls the AWS console makes. A trail created before a later step failed is edited from then on.
 */
export function TrailForm({ mode, initial, trailArn, onDone, onCancel }: TrailFormProps) {
  const { client } = useSession();
  const [form, setForm] = useState<TrailFormValue>(() => initial ?? emptyTrailForm());
  const [savedArn, setSavedArn] = useState<string | undefined>(trailArn);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const set: SetField = (key, value) => setForm((current) => ({ ...current, [key]: value }));

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    const selectors = selectorsFromForm(form);
    if (typeof selectors === "string") {
      setError(selectors);
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      let arn = savedArn;
      const location = {
        S3BucketName: form.bucket.trim(),
        ...(form.prefix.trim() !== "" ? { S3KeyPrefix: form.prefix.trim() } : {}),
        IsMultiRegionTrail: form.multiRegion,
        EnableLogFileValidation: form.validation,
      };
      if (arn === undefined) {
        const created = await client.send(new CreateTrailCommand({ Name: form.name.trim(), ...location }));
        arn = created.TrailARN ?? form.name.trim();
        setSavedArn(arn);
      } else {
        await client.send(
          new UpdateTrailCommand({ Name: arn, ...location, ...(form.prefix.trim() === "" ? { S3KeyPrefix: "" } : {}) }),
        );
      }
      await client.send(new PutEventSelectorsCommand({ TrailName: arn, ...selectors }));
      if (form.startLogging) await client.send(new StartLoggingCommand({ Name: arn }));
      onDone(
        mode === "create" && trailArn === undefined
          ? `Trail ${form.name.trim()} created${form.startLogging ? " and logging" : ""}.`
          : `Trail ${form.name.trim()} saved.`,
      );
    } catch (problem) {
      setError(describeError(problem).message);
    } finally {
      setBusy(false);
    }
  };

  const editing = savedArn !== undefined;
  return (
    <form className="panel trail-form" onSubmit={(event) => void submit(event)} aria-label="Trail settings">
      <h2>{mode === "create" ? "Create trail" : `Edit trail ${form.name}`}</h2>
      <div className="form-grid">
        <label>
          Trail name
          <input
            name="trailName"
            required
            disabled={editing}
            value={form.name}
            onChange={(event) => set("name", event.target.value)}
          />
        </label>
        <label>
          S3 bucket
          <input
            name="bucket"
            required
            value={form.bucket}
            onChange={(event) => set("bucket", event.target.value)}
            aria-describedby="bucket-help"
          />
          <span id="bucket-help" className="muted">
            On the embedded store a missing bucket is created.
          </span>
        </label>
        <label>
          Log file prefix (optional)
          <input name="prefix" value={form.prefix} onChange={(event) => set("prefix", event.target.value)} />
        </label>
      </div>
      <div className="buttons" style={{ margin: "12px 0" }}>
        <label className="inline">
          <input
            type="checkbox"
            checked={form.multiRegion}
            onChange={(event) => set("multiRegion", event.target.checked)}
          />
          Multi-region trail
        </label>
        <label className="inline">
          <input
            type="checkbox"
            checked={form.validation}
            onChange={(event) => set("validation", event.target.checked)}
          />
          Log file validation (signed digests)
        </label>
        <label className="inline">
          <input
            type="checkbox"
            checked={form.startLogging}
            onChange={(event) => set("startLogging", event.target.checked)}
          />
          {mode === "create" ? "Start logging now" : "Start logging after saving"}
        </label>
      </div>
      <SelectorFields form={form} set={set} />
      {error && <ErrorBanner title="The trail was not saved" message={error} />}
      <div className="buttons">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Saving…" : mode === "create" && !editing ? "Create trail" : "Save changes"}
        </button>
        <button type="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}
