/**
 * Escapes text for an XML element. Tab, CR and LF become character references so an XML parser
 * can't normalise them away (S3 documents doing the same for keys); other C0 controls are not
 * representable in XML 1.0 at all, so clients that store such keys must ask for `encoding-type=url`.
 */
export function escapeXml(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point here.
  return text.replace(/[&<>"'\x00-\x1f]/g, (character) => {
    switch (character) {
      case "&":
        return "&amp;";
      case "<":
        return "&lt;";
      case ">":
        return "&gt;";
      case '"':
        return "&quot;";
      case "'":
        return "&apos;";
      default:
        return `&#${character.charCodeAt(0)};`;
    }
  });
}
