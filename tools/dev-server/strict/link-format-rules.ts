/**
 * Strict CoRE Link Format (RFC 6690 §2, no whitespace, no lenient values) and
 * the LwM2M rules for the Objects and Object Instances list a client sends in
 * Register and Update (LwM2M TS 1.1 §6.2.1).
 */
import type { Problem } from "./violations.js";
import { quoteForLog } from "./violations.js";

export interface LinkAttribute {
  readonly name: string;
  /** Undefined for a bare attribute (`;obs`); unescaped for a quoted one. */
  readonly value?: string;
  readonly quoted: boolean;
}

export interface StrictLink {
  readonly target: string;
  readonly attributes: readonly LinkAttribute[];
  /** The link as written, for messages. */
  readonly text: string;
}

const SYNTAX = "RFC 6690 §2";
/** RFC 3986 characters of a URI-Reference (percent signs are checked apart). */
const URI_CHARACTERS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;
/** RFC 5987 parmname (RFC 6690 §2 link-extension), with the "*" of ext-name-star. */
const PARMNAME = /^[A-Za-z0-9!#$&+\-.^_`|~]+\*?/;
/** RFC 6690 §2 ptokenchar. */
const PTOKEN = /^[!#$%&'()*+\-./0-9:<=>?@A-Za-z[\]^_`{|}~]+/;
const CARDINAL = /^(0|[1-9][0-9]*)$/;
const REG_REL_TYPE = /^[a-z][a-z0-9.-]*$/;
const URI_REL_TYPE = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s"]+$/;
/** Content-Formats of LwM2M data (LwM2M TS, Data Formats: text, link-format, opaque, CBOR, SenML JSON/CBOR, TLV, JSON, LwM2M CBOR). */
const LWM2M_FORMATS: ReadonlySet<number> = new Set([0, 40, 42, 60, 110, 112, 11542, 11543, 11544]);

/** Parses link-format strictly; stops at the first syntax error, which it reports. */
export function parseStrictLinkFormat(text: string): { links: StrictLink[]; problems: Problem[] } {
  const links: StrictLink[] = [];
  const problems: Problem[] = [];
  let at = 0;
  const fail = (message: string) => {
    problems.push({ rule: SYNTAX, message: `${message} at offset ${at}: ${quoteForLog(text)}` });
    return { links, problems };
  };
  if (text.length === 0) return { links, problems };
  for (;;) {
    const start = at;
    if (/\s/.test(text[at] ?? "")) return fail("whitespace is not allowed in link-format");
    if (text[at] !== "<") return fail('a link must start with "<"');
    const close = text.indexOf(">", at);
    if (close < 0) return fail('missing ">" after the link target');
    const target = text.slice(at + 1, close);
    if (!URI_CHARACTERS.test(target) || /%(?![0-9A-Fa-f]{2})/.test(target)) return fail(`"${quoteForLog(target)}" is not a URI-Reference`);
    at = close + 1;
    const attributes: LinkAttribute[] = [];
    while (text[at] === ";") {
      at++;
      const name = PARMNAME.exec(text.slice(at))?.[0];
      if (!name) return fail("expected an attribute name after \";\"");
      at += name.length;
      if (text[at] !== "=") {
        attributes.push({ name, quoted: false });
        continue;
      }
      at++;
      if (text[at] === '"') {
        let value = "";
        at++;
        while (at < text.length && text[at] !== '"') {
          if (text[at] === "\\") at++;
          const c = text[at];
          if (c === undefined) break;
          if (c < " " && c !== "\t") return fail("control character in a quoted value");
          value += c;
          at++;
        }
        if (text[at] !== '"') return fail(`unterminated quoted value of "${name}"`);
        at++;
        attributes.push({ name, value, quoted: true });
      } else {
        const value = PTOKEN.exec(text.slice(at))?.[0];
        if (!value) return fail(`"${name}=" needs a value (a ptoken or a quoted-string)`);
        at += value.length;
        attributes.push({ name, value, quoted: false });
      }
      if (at < text.length && text[at] !== ";" && text[at] !== ",") return fail(`the value of "${name}" is not a ptoken and must be quoted`);
    }
    links.push({ target, attributes, text: text.slice(start, at) });
    if (at >= text.length) break;
    if (text[at] !== ",") return fail('expected "," between links');
    at++;
    if (at >= text.length) return fail('a "," must be followed by a link');
  }
  return { links, problems };
}

/** The values of a relation-types attribute (rt, if, rel, rev), or a reason it is malformed. */
function relationTypes(attribute: LinkAttribute): string[] | string {
  const value = attribute.value ?? "";
  const types = attribute.quoted ? value.split(/ +/) : [value];
  if (attribute.value === undefined || types.some((type) => type === "")) return `"${attribute.name}" needs one or more relation types`;
  const bad = types.find((type) => !REG_REL_TYPE.test(type) && !URI_REL_TYPE.test(type));
  if (bad !== undefined) return `"${bad}" in "${attribute.name}" is neither a registered relation type (lowercase letters, digits, ".", "-") nor a URI`;
  return types;
}

/** Attribute-level rules of RFC 6690 §3 and RFC 7252 §7.2.1 that hold for any link. */
export function checkLinkAttributes(link: StrictLink): Problem[] {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const attribute of link.attributes) {
    if (seen.has(attribute.name)) problems.push({ rule: attribute.name === "ct" ? "RFC 7252 §7.2.1" : "RFC 6690 §3", message: `attribute "${attribute.name}" given more than once in ${quoteForLog(link.text)}` });
    seen.add(attribute.name);
    switch (attribute.name) {
      case "rt":
      case "if":
      case "rel":
      case "rev": {
        const types = relationTypes(attribute);
        if (typeof types === "string") problems.push({ rule: "RFC 6690 §2 (relation-types)", message: `${types}: ${quoteForLog(link.text)}` });
        break;
      }
      case "ct": {
        const values = attribute.value === undefined ? [""] : attribute.quoted ? attribute.value.split(" ") : [attribute.value];
        if (values.some((value) => !CARDINAL.test(value) || Number(value) > 0xffff)) {
          problems.push({ rule: "RFC 7252 §7.2.1", message: `ct must be a Content-Format number, or several in quotes separated by spaces: ${quoteForLog(link.text)}` });
        }
        break;
      }
      case "sz":
        if (attribute.value === undefined || attribute.quoted || !CARDINAL.test(attribute.value)) problems.push({ rule: "RFC 6690 §3.3", message: `sz must be an unquoted cardinal: ${quoteForLog(link.text)}` });
        break;
      case "title":
      case "anchor":
        if (!attribute.quoted) problems.push({ rule: SYNTAX, message: `${attribute.name} must be a quoted-string: ${quoteForLog(link.text)}` });
        break;
    }
  }
  return problems;
}

/** Every rt type of a link. */
function resourceTypes(link: StrictLink): string[] {
  const rt = link.attributes.find((attribute) => attribute.name === "rt");
  if (!rt) return [];
  const types = relationTypes(rt);
  return typeof types === "string" ? [] : types;
}

const OBJECT_LIST = "LwM2M TS §6.2.1";
const ID = "(0|[1-9][0-9]{0,4})";

/**
 * The Objects and Object Instances list of Register/Update: an optional root
 * link `</>;rt="oma.lwm2m"` (or an alternate root path), then `</ObjectID>`
 * and `</ObjectID/InstanceID>` links under that root, no duplicates, and
 * neither the Security (0) nor the OSCORE (21) Object.
 */
export function checkObjectLinks(links: readonly StrictLink[]): Problem[] {
  const problems: Problem[] = [];
  const add = (message: string, rule = OBJECT_LIST) => problems.push({ rule, message });
  for (const link of links) problems.push(...checkLinkAttributes(link));
  const roots = links.filter((link) => resourceTypes(link).includes("oma.lwm2m"));
  if (roots.length > 1) add(`only one link may carry rt="oma.lwm2m", got ${roots.length}`);
  const root = roots[0];
  let prefix = "";
  if (root) {
    const rt = root.attributes.find((attribute) => attribute.name === "rt")!;
    // RFC 6690 §2 would also take a single unquoted relation type; the TS writes the root link quoted, and so must the client.
    if (!rt.quoted) add(`rt value must be quoted, as in </>;rt="oma.lwm2m": ${quoteForLog(root.text)}`, `${OBJECT_LIST} (root link </>;rt="oma.lwm2m")`);
    if (!/^\/([A-Za-z0-9\-._~]+(\/[A-Za-z0-9\-._~]+)*)?$/.test(root.target)) add(`the root path "${quoteForLog(root.target)}" must be "/" or an absolute path such as "/lwm2m"`);
    else prefix = root.target === "/" ? "" : root.target;
    for (const attribute of root.attributes) {
      if (attribute.name !== "ct" || attribute.value === undefined) continue;
      for (const value of attribute.quoted ? attribute.value.split(" ") : [attribute.value]) {
        if (CARDINAL.test(value) && !LWM2M_FORMATS.has(Number(value))) add(`ct=${value} on the root link is not an LwM2M data format: ${quoteForLog(root.text)}`, "LwM2M TS (Data Formats)");
      }
    }
  }
  const objectLink = new RegExp(`^${escapeRegExp(prefix)}/${ID}(/${ID})?$`);
  const targets = new Set<string>();
  for (const link of links) {
    if (link === root) continue;
    if (targets.has(link.target)) add(`link <${quoteForLog(link.target)}> is listed more than once`);
    targets.add(link.target);
    const match = objectLink.exec(link.target);
    if (!match) {
      add(`<${quoteForLog(link.target)}> is not </ObjectID> or </ObjectID/InstanceID>${prefix ? ` under the root path ${prefix}` : ""}`);
      continue;
    }
    const objectId = Number(match[1]);
    const instanceId = match[3] === undefined ? undefined : Number(match[3]);
    if (objectId > 0xffff || (instanceId !== undefined && instanceId >= 0xffff)) add(`<${quoteForLog(link.target)}>: Object IDs are 16-bit and Object Instance ID 65535 is reserved`, "LwM2M TS (Identifiers: MAX_ID 65535 reserved)");
    if (objectId === 0 || objectId === 21) add(`the ${objectId === 0 ? "Security" : "OSCORE"} Object (/${objectId}) must not be in the registered objects: <${quoteForLog(link.target)}>`);
    for (const attribute of link.attributes) {
      if (attribute.name !== "ver") continue;
      if (instanceId !== undefined) add(`ver is an Object attribute and cannot be on the Object Instance link ${quoteForLog(link.text)}`);
      if (attribute.value === undefined || !/^[0-9]+\.[0-9]+$/.test(attribute.value)) add(`ver must be a version "major.minor": ${quoteForLog(link.text)}`);
    }
  }
  return problems;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
