/**
 * Decodes XML answers (query, ec2, rest-xml protocols) with the operation's output shape: members
 * named as CloudTrail logs them, values typed, lists as arrays (EC2: `{items: [...]}`, the way its
 * records show `instancesSet`). Also reads error codes and request ids from XML error bodies.
 */
import { lowerFirst } from "../../normalize/lower-camel.js";
import { resolveShape, shapeType, type ServiceModel, type ShapeRef } from "./model-types.js";
import { defineMember, typedScalar } from "./query-request.js";
import { findElement, type XmlElement } from "./xml.js";

interface XmlDecodeContext {
  readonly model: ServiceModel;
  readonly ec2: boolean;
}

/** The result element of a response: `<OpResult>` inside `<OpResponse>` for query, the root otherwise. */
export function decodeXmlOutput(
  model: ServiceModel,
  output: ShapeRef | undefined,
  root: XmlElement,
): Record<string, unknown> | null {
  const shape = resolveShape(model, output);
  if (shape === undefined) return null;
  const context: XmlDecodeContext = { model, ec2: model.metadata.protocol === "ec2" };
  let element = root;
  if (shape.resultWrapper !== undefined) {
    const wrapper = root.children.find((child) => child.name === shape.resultWrapper);
    if (wrapper === undefined) return null;
    element = wrapper;
  }
  const decoded = decodeStructure(context, shape, element);
  return Object.keys(decoded).length === 0 ? null : decoded;
}

function decodeStructure(context: XmlDecodeContext, shape: ShapeRef, element: XmlElement): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const known = new Set<string>();
  for (const [memberName, ref] of Object.entries(shape.members ?? {})) {
    if (ref.location !== undefined) continue;
    const member = resolveShape(context.model, ref);
    if (member === undefined) continue;
    const xmlName = ref.locationName ?? memberName;
    known.add(xmlName);
    const logged = lowerFirst(context.ec2 ? xmlName : memberName);
    if (shapeType(member) === "list" && member.flattened === true) {
      const itemName = member.member?.locationName ?? xmlName;
      known.add(itemName);
      const items = element.children.filter((child) => child.name === itemName);
      if (items.length > 0) defineMember(out, logged, listValue(context, member, items));
      continue;
    }
    const child = element.children.find((candidate) => candidate.name === xmlName);
    if (child !== undefined) defineMember(out, logged, decodeValue(context, member, child));
  }
  // EC2 answers carry `requestId` outside the model; its records keep it in responseElements.
  if (context.ec2) {
    for (const child of element.children) {
      if (!known.has(child.name) && child.children.length === 0) defineMember(out, child.name, child.text);
    }
  }
  return out;
}

function listValue(context: XmlDecodeContext, shape: ShapeRef, items: XmlElement[]): unknown {
  const member = resolveShape(context.model, shape.member) ?? {};
  const values = items.map((item) => decodeValue(context, member, item));
  if (!context.ec2) return values;
  return values.length === 0 ? {} : { items: values };
}

function decodeValue(context: XmlDecodeContext, shape: ShapeRef, element: XmlElement): unknown {
  switch (shapeType(shape)) {
    case "structure":
      return decodeStructure(context, shape, element);
    case "list":
      return listValue(context, shape, element.children);
    case "map": {
      const out: Record<string, unknown> = {};
      const keyName = shape.key?.locationName ?? "key";
      const valueName = shape.value?.locationName ?? "value";
      const valueShape = resolveShape(context.model, shape.value) ?? {};
      for (const entry of element.children) {
        const key = entry.children.find((child) => child.name === keyName)?.text;
        const value = entry.children.find((child) => child.name === valueName);
        if (key !== undefined && value !== undefined) defineMember(out, key, decodeValue(context, valueShape, value));
      }
      return out;
    }
    default:
      return typedScalar(shapeType(shape), element.text);
  }
}

export interface XmlError {
  readonly code: string;
  readonly message: string | undefined;
}

/** `<ErrorResponse><Error><Code>` (query), `<Response><Errors><Error><Code>` (ec2), `<Error><Code>` (S3). */
export function xmlErrorOf(root: XmlElement): XmlError | undefined {
  const code = root.name === "Error" ? root.children.find((c) => c.name === "Code") : findElement(root, "Code");
  if (code === undefined || code.text === "") return undefined;
  return { code: code.text, message: findElement(root, "Message")?.text };
}

/** The request id an XML body carries: query `RequestId`, EC2 `requestId` / `RequestID`. */
export function xmlRequestIdOf(root: XmlElement): string | undefined {
  for (const name of ["RequestId", "requestId", "RequestID"]) {
    const element = findElement(root, name);
    if (element !== undefined && element.text !== "") return element.text;
  }
  return undefined;
}
