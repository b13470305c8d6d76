/**
 * A small XML parser for object model files (OMA DDF): elements, attributes,
 * character data with the predefined and numeric entities, CDATA; the
 * prolog, comments, processing instructions and a DOCTYPE are skipped.
 * Namespaces are kept in the names as written. Not a validating parser.
 */

export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: XmlElement[];
  /** The element's own character data (text and CDATA between its children), concatenated. */
  text: string;
}

/** Deepest element nesting accepted. */
export const MAX_XML_DEPTH = 64;

const ENTITIES: Readonly<Record<string, string>> = Object.freeze({ lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" });
const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;

export class XmlError extends Error {}

export function parseXml(source: string): XmlElement {
  let at = source.charCodeAt(0) === 0xfeff ? 1 : 0;

  const fail = (why: string, where = at): never => {
    const before = source.slice(0, where);
    const line = before.split("\n").length;
    const column = where - before.lastIndexOf("\n");
    throw new XmlError(`XML: ${why} at line ${line}, column ${column}`);
  };
  const startsWith = (text: string) => source.startsWith(text, at);
  const skipPast = (end: string, what: string) => {
    const found = source.indexOf(end, at);
    if (found < 0) fail(`unterminated ${what}`);
    at = found + end.length;
  };
  const skipSpace = () => {
    while (at < source.length && /\s/.test(source[at]!)) at++;
  };
  const name = (): string => {
    NAME.lastIndex = at;
    const match = NAME.exec(source);
    if (!match) return fail("expected a name");
    at += match[0].length;
    return match[0];
  };
  const decode = (raw: string, start: number): string =>
    raw.replace(/&([^;&\s]*);?/g, (whole, entity: string, offset: number) => {
      if (!whole.endsWith(";")) return fail("'&' not starting an entity reference", start + offset);
      if (entity in ENTITIES) return ENTITIES[entity]!;
      const numeric = /^#x([0-9a-fA-F]{1,6})$/.exec(entity) ?? /^#([0-9]{1,7})$/.exec(entity);
      const code = numeric ? parseInt(numeric[1]!, entity[1] === "x" ? 16 : 10) : NaN;
      if (!(code > 0 && code <= 0x10ffff)) return fail(`unknown entity &${entity};`, start + offset);
      return String.fromCodePoint(code);
    });
  /** Comments, processing instructions and the DOCTYPE between elements. */
  const skipMisc = () => {
    for (;;) {
      skipSpace();
      if (startsWith("<!--")) skipPast("-->", "comment");
      else if (startsWith("<?")) skipPast("?>", "processing instruction");
      else if (startsWith("<!DOCTYPE")) {
        // An internal subset in brackets may hold '>'.
        const bracket = source.indexOf("[", at);
        const close = source.indexOf(">", at);
        if (bracket >= 0 && bracket < close) {
          at = bracket;
          skipPast("]", "DOCTYPE");
        }
        skipPast(">", "DOCTYPE");
      } else return;
    }
  };

  const element = (depth: number): XmlElement => {
    if (depth > MAX_XML_DEPTH) fail(`elements nested deeper than ${MAX_XML_DEPTH}`);
    const start = at;
    at++; // "<"
    const tag = name();
    const attributes: Record<string, string> = {};
    for (;;) {
      skipSpace();
      if (startsWith("/>")) {
        at += 2;
        return { name: tag, attributes, children: [], text: "" };
      }
      if (startsWith(">")) {
        at++;
        break;
      }
      if (at >= source.length) fail(`unterminated start tag <${tag}>`, start);
      const attribute = name();
      skipSpace();
      if (source[at] !== "=") fail(`attribute ${attribute} without a value`);
      at++;
      skipSpace();
      const quote = source[at];
      if (quote !== '"' && quote !== "'") fail(`attribute ${attribute}'s value is not quoted`);
      const end = source.indexOf(quote!, at + 1);
      if (end < 0) fail(`unterminated value of attribute ${attribute}`);
      if (attribute in attributes) fail(`attribute ${attribute} given twice`);
      attributes[attribute] = decode(source.slice(at + 1, end), at + 1);
      at = end + 1;
    }
    const node: XmlElement = { name: tag, attributes, children: [], text: "" };
    for (;;) {
      if (at >= source.length) fail(`the document ends inside <${tag}> (opened here)`, start);
      if (startsWith("</")) {
        at += 2;
        const closing = name();
        if (closing !== tag) fail(`</${closing}> closes <${tag}>`);
        skipSpace();
        if (source[at] !== ">") fail(`unterminated end tag </${closing}>`);
        at++;
        return node;
      }
      if (startsWith("<![CDATA[")) {
        const end = source.indexOf("]]>", at);
        if (end < 0) fail("unterminated CDATA section");
        node.text += source.slice(at + 9, end);
        at = end + 3;
      } else if (startsWith("<!--")) skipPast("-->", "comment");
      else if (startsWith("<?")) skipPast("?>", "processing instruction");
      else if (source[at] === "<") node.children.push(element(depth + 1));
      else {
        const next = source.indexOf("<", at);
        const end = next < 0 ? source.length : next;
        node.text += decode(source.slice(at, end), at);
        at = end;
      }
    }
  };

  skipMisc();
  if (source[at] !== "<") fail("no root element");
  const root = element(1);
  skipMisc();
  if (at < source.length) fail("content after the root element");
  return root;
}

/** The first child element of that name. */
export function child(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((candidate) => candidate.name === name);
}

/** The trimmed text of the first child of that name; "" when absent. */
export function childText(element: XmlElement, name: string): string {
  return child(element, name)?.text.trim() ?? "";
}
