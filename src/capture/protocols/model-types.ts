/**
 * The parts of AWS's published service models (the `apis/*.min.json` files of the `aws-sdk` v2
 * package) that the capture proxy reads: protocol, operations with their HTTP routes, and shapes with
 * wire names and types. The files are minified: a member without `type` and `shape` is a string.
 */

export type Protocol = "query" | "ec2" | "json" | "rest-json" | "rest-xml";

export interface ShapeRef {
  readonly shape?: string;
  readonly type?: string;
  /** Wire name: XML element, query key (ec2: capitalised), header or URI label. */
  readonly locationName?: string;
  /** EC2's explicit query key, when it differs from the capitalised locationName. */
  readonly queryName?: string;
  readonly location?: "uri" | "querystring" | "header" | "headers" | "statusCode";
  readonly flattened?: boolean;
  readonly streaming?: boolean;
  readonly timestampFormat?: string;
  /** Marks a secret: CloudTrail never logs the member's value (see sensitive-members.ts). */
  readonly sensitive?: boolean;
  // Inline shapes carry the shape fields too.
  readonly members?: Readonly<Record<string, ShapeRef>>;
  readonly member?: ShapeRef;
  readonly key?: ShapeRef;
  readonly value?: ShapeRef;
  readonly required?: readonly string[];
  readonly payload?: string;
  readonly resultWrapper?: string;
}

export interface Operation {
  readonly name: string;
  readonly http?: { readonly method?: string; readonly requestUri?: string };
  readonly input?: ShapeRef;
  readonly output?: ShapeRef;
}

interface ServiceMetadata {
  readonly apiVersion: string;
  readonly endpointPrefix: string;
  readonly signingName?: string;
  readonly protocol: Protocol;
  readonly targetPrefix?: string;
  readonly jsonVersion?: string;
  readonly serviceId?: string;
}

export interface ServiceModel {
  readonly metadata: ServiceMetadata;
  readonly operations: Readonly<Record<string, Omit<Operation, "name">>>;
  readonly shapes: Readonly<Record<string, ShapeRef>>;
}

/** A member's shape with `shape` references followed: the reference's own fields win (locationName…). */
export function resolveShape(model: ServiceModel, ref: ShapeRef | undefined): ShapeRef | undefined {
  if (ref === undefined) return undefined;
  let resolved: ShapeRef = ref;
  // Minified models chain references at most once or twice; the bound guards a malformed file.
  for (let depth = 0; resolved.shape !== undefined && depth < 8; depth += 1) {
    const target = model.shapes[resolved.shape];
    if (target === undefined) break;
    const { shape: _shape, ...own } = resolved;
    resolved = { ...target, ...own };
  }
  return resolved;
}

/** The shape's type: minified models leave out `"type": "string"`, and `members` means a structure. */
export function shapeType(shape: ShapeRef): string {
  if (shape.type !== undefined) return shape.type;
  if (shape.members !== undefined) return "structure";
  if (shape.member !== undefined) return "list";
  return "string";
}
