/**
 * Each AWS protocol's codec: how a request names its operation, how its parameters are encoded, and
 * how responses are. One table keyed by `Protocol`, so a protocol added to the model types does not
 * compile until it has a codec (a `switch` without a default would silently never recognise it).
 */
import {
  identifyByAction,
  identifyByRoute,
  identifyByTarget,
  type CapturedRequest,
  type IdentifiedCall,
} from "./identify.js";
import { decodeEc2Parameters, decodeJsonBody, decodeQueryParameters, decodeRestRequest } from "./decode-request.js";
import type { Protocol, ServiceModel } from "./model-types.js";
import type { ServiceModels } from "./service-models.js";

export interface ProtocolCodec {
  /** The operation the request names in this protocol, or undefined. */
  readonly identify: (model: ServiceModel, request: CapturedRequest) => IdentifiedCall | undefined;
  /** requestParameters; null when there are none or the body cannot be decoded. */
  readonly decodeRequest: (call: IdentifiedCall, request: CapturedRequest) => Record<string, unknown> | null;
  /** How response bodies, errors included, are encoded. */
  readonly responseFormat: "json" | "xml";
  /** Whether output members may be bound to response headers (the rest protocols). */
  readonly headerBoundOutput: boolean;
}

const PROTOCOL_CODECS: Readonly<Record<Protocol, ProtocolCodec>> = {
  query: {
    identify: identifyByAction,
    decodeRequest: decodeQueryParameters,
    responseFormat: "xml",
    headerBoundOutput: false,
  },
  ec2: {
    identify: identifyByAction,
    decodeRequest: decodeEc2Parameters,
    responseFormat: "xml",
    headerBoundOutput: false,
  },
  json: { identify: identifyByTarget, decodeRequest: decodeJsonBody, responseFormat: "json", headerBoundOutput: false },
  "rest-xml": {
    identify: identifyByRoute,
    decodeRequest: (call, request) => decodeRestRequest(call, request, "xml"),
    responseFormat: "xml",
    headerBoundOutput: true,
  },
  "rest-json": {
    identify: identifyByRoute,
    decodeRequest: (call, request) => decodeRestRequest(call, request, "json"),
    responseFormat: "json",
    headerBoundOutput: true,
  },
};

/**
 * The codec of the model's protocol; undefined for a protocol this proxy does not speak (a model file
 * of a newer aws-sdk), whose calls are then not identified.
 */
function knownCodecOf(model: ServiceModel): ProtocolCodec | undefined {
  const protocol: string = model.metadata.protocol;
  return Object.hasOwn(PROTOCOL_CODECS, protocol) ? PROTOCOL_CODECS[protocol as Protocol] : undefined;
}

/** The codec of an identified call's model (identification guarantees it is known). */
export function codecOf(model: ServiceModel): ProtocolCodec {
  const codec = knownCodecOf(model);
  if (codec === undefined) throw new Error(`No codec for the ${model.metadata.protocol} protocol`);
  return codec;
}

/** The first model signed as `service` in which the request names an operation. */
export function identifyCall(
  models: ServiceModels,
  service: string,
  request: CapturedRequest,
): IdentifiedCall | undefined {
  for (const model of models.candidates(service)) {
    const identified = knownCodecOf(model)?.identify(model, request);
    if (identified !== undefined) return identified;
  }
  return undefined;
}
