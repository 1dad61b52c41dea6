/**
 * A small XML reader for AWS responses and rest-xml request bodies (query, ec2, rest-xml protocols).
 * AWS documents are plain element trees: no DTDs, attributes only for namespaces and S3's Grantee
 * type, so elements, attributes, text, CDATA and the five entities plus character references are all
 * that is needed. Input is bounded by
 * the proxy's capture cap; malformed input throws and the caller records the call without a decoded
 * response.
 */

export interface XmlElement {
  /** Local name (namespace prefix dropped). */
  readonly name: string;
  readonly children: XmlElement[];
  /** Concatenated text of this element's direct text and CDATA nodes. */
  text: string;
  /** Attributes as written (`xmlns`, `xmlns:xsi`, `xsi:type`), in document order; absent when none. */
  attributes?: [name: string, value: string][];
}

const ENTITIES: Readonly<Record<string, string>> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (whole, entity: string) => {
    if (entity.startsWith("#x")) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith("#")) return String.fromCodePoint(parseInt(entity.slice(1), 10));
    return ENTITIES[entity] ?? whole;
  });
}

function localName(qualified: string): string {
  const colon = qualified.indexOf(":");
  return colon === -1 ? qualified : qualified.slice(colon + 1);
}

/** Parses a document and returns its root element. */
export function parseXml(source: string): XmlElement {
  const root: XmlElement = { name: "#document", children: [], text: "" };
  const stack: XmlElement[] = [root];
  let position = 0;
  while (position < source.length) {
    const open = source.indexOf("<", position);
    const current = stack[stack.length - 1]!;
    if (open === -1) {
      current.text += decodeEntities(source.slice(position));
      break;
    }
    if (open > position) current.text += decodeEntities(source.slice(position, open));
    if (source.startsWith("<![CDATA[", open)) {
      const end = requireIndex(source, "]]>", open);
      current.text += source.slice(open + 9, end);
      position = end + 3;
    } else if (source.startsWith("<!--", open)) {
      position = requireIndex(source, "-->", open) + 3;
    } else if (source.startsWith("<?", open) || source.startsWith("<!", open)) {
      position = requireIndex(source, ">", open) + 1;
    } else if (source.startsWith("</", open)) {
      const end = requireIndex(source, ">", open);
      const name = localName(source.slice(open + 2, end).trim());
      if (stack.length < 2 || current.name !== name) throw new Error(`Unexpected </${name}>`);
      stack.pop();
      position = end + 1;
    } else {
      const end = requireIndex(source, ">", open);
      const selfClosing = source[end - 1] === "/";
      const tag = source.slice(open + 1, selfClosing ? end - 1 : end);
      const name = localName(/^[^\s/>]+/.exec(tag)?.[0] ?? "");
      if (name === "") throw new Error("Empty tag name");
      const element: XmlElement = { name, children: [], text: "" };
      const attributes = attributesOf(tag);
      if (attributes !== undefined) element.attributes = attributes;
      current.children.push(element);
      if (!selfClosing) stack.push(element);
      position = end + 1;
    }
  }
  if (stack.length !== 1) throw new Error("Unclosed element");
  const top = root.children[0];
  if (top === undefined) throw new Error("No root element");
  return top;
}

const ATTRIBUTE = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

/** `name="value"` pairs after the tag name, entities decoded; undefined when the tag has none. */
function attributesOf(tag: string): [string, string][] | undefined {
  const space = tag.search(/\s/);
  if (space === -1) return undefined;
  const out: [string, string][] = [];
  for (const match of tag.slice(space).matchAll(ATTRIBUTE)) {
    out.push([match[1]!, decodeEntities(match[2] ?? match[3] ?? "")]);
  }
  return out.length === 0 ? undefined : out;
}

function requireIndex(source: string, token: string, from: number): number {
  const index = source.indexOf(token, from);
  if (index === -1) throw new Error(`Unterminated markup at ${from}`);
  return index;
}

/** First element named `name` at any depth (depth-first), e.g. an error's `Code`. */
export function findElement(element: XmlElement, name: string): XmlElement | undefined {
  for (const child of element.children) {
    if (child.name === name) return child;
    const found = findElement(child, name);
    if (found !== undefined) return found;
  }
  return undefined;
}
