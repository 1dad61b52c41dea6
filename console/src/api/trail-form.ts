import type {
  AdvancedEventSelector,
  EventSelector,
  GetEventSelectorsCommandOutput,
  ReadWriteType,
  Trail,
} from "@aws-sdk/client-cloudtrail";

/** What the trail form edits; turned into CreateTrail/UpdateTrail and PutEventSelectors calls. */
export interface TrailFormValue {
  name: string;
  bucket: string;
  prefix: string;
  multiRegion: boolean;
  validation: boolean;
  startLogging: boolean;
  selectorMode: "basic" | "advanced";
  /** Basic selectors. "None" means IncludeManagementEvents false. */
  management: ReadWriteType | "None";
  /** One ARN (or ARN prefix) per line; `arn:aws:s3` alone means every bucket. */
  s3Resources: string;
  lambdaResources: string;
  /** Advanced selectors as the JSON the API takes. */
  advancedJson: string;
}

const DEFAULT_ADVANCED_SELECTORS: AdvancedEventSelector[] = [
  { Name: "Management events", FieldSelectors: [{ Field: "eventCategory", Equals: ["Management"] }] },
];

export function emptyTrailForm(): TrailFormValue {
  return {
    name: "",
    bucket: "",
    prefix: "",
    multiRegion: true,
    validation: true,
    startLogging: true,
    selectorMode: "basic",
    management: "All",
    s3Resources: "",
    lambdaResources: "",
    advancedJson: JSON.stringify(DEFAULT_ADVANCED_SELECTORS, null, 2),
  };
}

function lines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

export function trailFormFrom(trail: Trail, selectors: GetEventSelectorsCommandOutput | undefined): TrailFormValue {
  const form = emptyTrailForm();
  form.name = trail.Name ?? "";
  form.bucket = trail.S3BucketName ?? "";
  form.prefix = trail.S3KeyPrefix ?? "";
  form.multiRegion = trail.IsMultiRegionTrail ?? false;
  form.validation = trail.LogFileValidationEnabled ?? false;
  form.startLogging = false;
  if (selectors?.AdvancedEventSelectors && selectors.AdvancedEventSelectors.length > 0) {
    form.selectorMode = "advanced";
    form.advancedJson = JSON.stringify(selectors.AdvancedEventSelectors, null, 2);
  } else {
    const basic = selectors?.EventSelectors?.[0];
    form.management = basic?.IncludeManagementEvents === false ? "None" : (basic?.ReadWriteType ?? "All");
    const resources = selectors?.EventSelectors?.flatMap((selector) => selector.DataResources ?? []) ?? [];
    form.s3Resources = resources
      .filter((resource) => resource.Type === "AWS::S3::Object")
      .flatMap((resource) => resource.Values ?? [])
      .join("\n");
    form.lambdaResources = resources
      .filter((resource) => resource.Type === "AWS::Lambda::Function")
      .flatMap((resource) => resource.Values ?? [])
      .join("\n");
  }
  return form;
}

export type SelectorsInput =
  | { EventSelectors: EventSelector[]; AdvancedEventSelectors?: undefined }
  | { AdvancedEventSelectors: AdvancedEventSelector[]; EventSelectors?: undefined };

/** The PutEventSelectors input for a form, or an error sentence for the user. */
export function selectorsFromForm(form: TrailFormValue): SelectorsInput | string {
  if (form.selectorMode === "advanced") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(form.advancedJson);
    } catch (error) {
      return `Advanced event selectors are not valid JSON: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (!Array.isArray(parsed)) return "Advanced event selectors must be a JSON array of selectors.";
    return { AdvancedEventSelectors: parsed as AdvancedEventSelector[] };
  }
  const dataResources = [
    { Type: "AWS::S3::Object", Values: lines(form.s3Resources) },
    { Type: "AWS::Lambda::Function", Values: lines(form.lambdaResources) },
  ].filter((resource) => resource.Values.length > 0);
  return {
    EventSelectors: [
      {
        ReadWriteType: form.management === "None" ? "All" : form.management,
        IncludeManagementEvents: form.management !== "None",
        DataResources: dataResources,
      },
    ],
  };
}
