/**
 * Lake answers structs and maps in Trino's text form, `{type=IAMUser, sessioncontext={…}}`, and
 * arrays as `[a, b]` (spec §7.2, every value a string). The console shows such a value as JSON.
 * The text form has no quoting, so a value holding `, name=` or `}` cannot be told from structure:
 * a value that does not read back cleanly is shown as Lake sent it.
 */
type Json = string | null | Json[] | { [key: string]: Json };

const KEY = /^([A-Za-z0-9_$.:-]+)=/;

class Reader {
  private at = 0;
  constructor(private readonly text: string) {}

  done(): boolean {
    return this.at === this.text.length;
  }

  value(closers: string): Json {
    const char = this.text[this.at];
    if (char === "{") return this.object();
    if (char === "[") return this.array();
    return this.scalar(closers);
  }

  private object(): { [key: string]: Json } {
    this.at++;
    const out: { [key: string]: Json } = {};
    if (this.text[this.at] === "}") {
      this.at++;
      return out;
    }
    for (;;) {
      const key = KEY.exec(this.text.slice(this.at));
      if (!key) throw new Error("no key");
      this.at += key[0].length;
      out[key[1]!] = this.value("}");
      if (this.text[this.at] === "}") {
        this.at++;
        return out;
      }
      this.expect(", ");
    }
  }

  private array(): Json[] {
    this.at++;
    const out: Json[] = [];
    if (this.text[this.at] === "]") {
      this.at++;
      return out;
    }
    for (;;) {
      out.push(this.value("]"));
      if (this.text[this.at] === "]") {
        this.at++;
        return out;
      }
      this.expect(", ");
    }
  }

  /** A leaf: up to the next `, ` that starts a sibling (in an object, a `key=`), or the closer. */
  private scalar(closer: string): string | null {
    const start = this.at;
    let depth = 0;
    while (this.at < this.text.length) {
      const char = this.text[this.at]!;
      if (depth === 0 && char === closer) break;
      if (depth === 0 && this.text.startsWith(", ", this.at)) {
        const rest = this.text.slice(this.at + 2);
        if (closer === "]" || KEY.test(rest)) break;
      }
      if (char === "{" || char === "[") depth++;
      if (char === "}" || char === "]") depth--;
      this.at++;
    }
    const text = this.text.slice(start, this.at);
    return text === "null" ? null : text;
  }

  private expect(text: string): void {
    if (!this.text.startsWith(text, this.at)) throw new Error(`expected ${text}`);
    this.at += text.length;
  }
}

/** The value as JSON text when it is a struct, map or an array holding them; undefined otherwise. */
export function structAsJson(value: string): string | undefined {
  if (!(value.startsWith("{") && value.endsWith("}")) && !(value.startsWith("[{") && value.endsWith("}]")))
    return undefined;
  try {
    const reader = new Reader(value);
    const parsed = reader.value("");
    return reader.done() ? JSON.stringify(parsed) : undefined;
  } catch {
    return undefined;
  }
}
