import { utf8Decode, utf8Encode } from "../../coap/message.js";

/** One CoRE link (RFC 6690): a target and its attributes (a value of true means a bare attribute). */
export interface Link {
  readonly target: string;
  readonly attributes: ReadonlyArray<readonly [string, string | number | true]>;
}

/** Attributes whose values are always written as quoted strings: the relation types (RFC 6690 §3.1, §3.2), as the LwM2M TS writes `rt="oma.lwm2m"`. */
const QUOTED_ATTRIBUTES: readonly string[] = Object.freeze(["rt", "if"]);

export function formatLinks(links: readonly Link[]): string {
  return links
    .map((link) => {
      let text = `<${link.target}>`;
      for (const [name, value] of link.attributes) {
        if (value === true) text += `;${name}`;
        else if (typeof value === "number" || (/^[0-9A-Za-z.+-]*$/.test(value) && QUOTED_ATTRIBUTES.indexOf(name) < 0)) text += `;${name}=${value}`;
        else text += `;${name}="${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
      }
      return text;
    })
    .join(",");
}

export function encodeLinks(links: readonly Link[]): Uint8Array {
  return utf8Encode(formatLinks(links));
}

/** Parses link-format; throws on anything that is not a list of <target>;attr=value links. */
export function parseLinks(input: Uint8Array | string): Link[] {
  const text = typeof input === "string" ? input : utf8Decode(input);
  const links: Link[] = [];
  let at = 0;
  const fail = (why: string): never => {
    throw new SyntaxError(`link-format: ${why} at ${at}`);
  };
  const skipSpace = () => {
    while (at < text.length && (text[at] === " " || text[at] === "\n" || text[at] === "\r" || text[at] === "\t")) at++;
  };
  skipSpace();
  if (at >= text.length) return links;
  for (;;) {
    skipSpace();
    if (text[at] !== "<") fail('expected "<"');
    const close = text.indexOf(">", at);
    if (close < 0) fail('missing ">"');
    const target = text.slice(at + 1, close);
    at = close + 1;
    const attributes: [string, string | number | true][] = [];
    while (text[at] === ";") {
      at++;
      const nameMatch = /^[A-Za-z0-9!#$&+\-.^_`|~*]+/.exec(text.slice(at));
      if (!nameMatch) fail("expected an attribute name");
      const name = nameMatch![0];
      at += name.length;
      if (text[at] !== "=") {
        attributes.push([name, true]);
        continue;
      }
      at++;
      if (text[at] === '"') {
        let value = "";
        at++;
        while (at < text.length && text[at] !== '"') {
          if (text[at] === "\\") at++;
          value += text[at] ?? "";
          at++;
        }
        if (text[at] !== '"') fail("unterminated quoted value");
        at++;
        attributes.push([name, value]);
      } else {
        const end = text.slice(at).search(/[;,]/);
        const raw = end < 0 ? text.slice(at) : text.slice(at, at + end);
        at += raw.length;
        attributes.push([name, /^-?[0-9]+(\.[0-9]+)?$/.test(raw) ? Number(raw) : raw]);
      }
    }
    links.push({ target, attributes });
    skipSpace();
    if (at >= text.length) break;
    if (text[at] !== ",") fail('expected ","');
    at++;
  }
  return links;
}
