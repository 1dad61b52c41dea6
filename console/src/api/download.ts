// Built in src/lib so node tests check the formula-injection escaping without a browser.
export { toCsv } from "../../../src/lib/csv.js";

/** Saves text as a file through the browser's download flow. */
export function downloadText(fileName: string, mimeType: string, text: string | readonly string[]): void {
  // Pieces are joined by the Blob, not into one string: an export of many pages stays within memory limits.
  const url = URL.createObjectURL(new Blob(typeof text === "string" ? [text] : [...text], { type: mimeType }));
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
