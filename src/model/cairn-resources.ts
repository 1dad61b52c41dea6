/**
 * Cairn's own data-event resource types (docs/reference/ingest-rules.md, "Plumbing is not activity").
 * A successful call to the plumbing endpoints — a batch delivered to `POST /ingest`, a `GET /tail`
 * read, a `GET /quarantine` page — is recorded as a data event naming one of these, in CloudTrail's
 * `AWS::Service::Type` form under Cairn's own prefix, so advanced event selectors can ask for them
 * (`eventCategory = Data`, `resources.type = Cairn::Ingest::Endpoint`) and nothing else sees them.
 */
export const CAIRN_INGEST_ENDPOINT = "Cairn::Ingest::Endpoint";
export const CAIRN_TAIL_ENDPOINT = "Cairn::Tail::Endpoint";
export const CAIRN_QUARANTINE_ENDPOINT = "Cairn::Quarantine::Endpoint";

type CairnEndpointType = typeof CAIRN_INGEST_ENDPOINT | typeof CAIRN_TAIL_ENDPOINT | typeof CAIRN_QUARANTINE_ENDPOINT;

const ENDPOINT_NAMES: Readonly<Record<CairnEndpointType, string>> = {
  [CAIRN_INGEST_ENDPOINT]: "ingest",
  [CAIRN_TAIL_ENDPOINT]: "tail",
  [CAIRN_QUARANTINE_ENDPOINT]: "quarantine",
};

/**
 * The resource a plumbing call touched: the endpoint of the caller's account and region,
 * `arn:aws:cloudtrail:<region>:<account>:cairn-endpoint/<ingest|tail|quarantine>`.
 */
export function cairnEndpointResource(
  type: CairnEndpointType,
  region: string,
  accountId: string,
): { accountId: string; type: string; ARN: string } {
  return { accountId, type, ARN: `arn:aws:cloudtrail:${region}:${accountId}:cairn-endpoint/${ENDPOINT_NAMES[type]}` };
}

/** The types advanced event selectors accept for Cairn's own data events. */
export const CAIRN_DATA_RESOURCE_TYPES: readonly string[] = Object.keys(ENDPOINT_NAMES);
