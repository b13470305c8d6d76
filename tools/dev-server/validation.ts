/**
 * Checks of what users give the development server (HTTP API and console):
 * Write-Attributes values and command expiries. Errors name the field.
 */

/** The notification attributes of Write-Attributes (LwM2M 1.1 §5.1.2) and whether each takes integers only. */
export const ATTRIBUTES: Readonly<Record<string, "integer" | "non-negative" | "number">> = Object.freeze({
  pmin: "integer",
  pmax: "integer",
  gt: "number",
  lt: "number",
  st: "non-negative",
  epmin: "integer",
  epmax: "integer",
});

const NAMES = Object.keys(ATTRIBUTES).join(", ");

/** A number from JSON or console text ("5", 5); undefined when it is not one. */
function numeric(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "string" && /^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

/**
 * The Uri-Query of a Write-Attributes from `{name: value}`: each name one of
 * pmin, pmax, gt, lt, st, epmin, epmax; null clears it (a bare name); pmin,
 * pmax, epmin and epmax whole seconds ≥ 0, st ≥ 0, gt and lt any number.
 * Throws naming the attribute; an empty set is refused (it would be a PUT
 * that changes nothing).
 */
export function attributeQuery(attributes: Readonly<Record<string, unknown>>): string[] {
  const query: string[] = [];
  for (const [name, value] of Object.entries(attributes)) {
    const kind = ATTRIBUTES[name];
    if (!kind) throw new Error(`unknown attribute "${name}": the attributes are ${NAMES}`);
    if (value === null) {
      query.push(name);
      continue;
    }
    const number = numeric(value);
    if (number === undefined) throw new Error(`attribute ${name} needs a number (or null to clear it), got ${JSON.stringify(value) ?? String(value)}`);
    if (kind === "integer" && !(Number.isInteger(number) && number >= 0)) throw new Error(`attribute ${name} needs a whole number of seconds ≥ 0, got ${number}`);
    if (kind === "non-negative" && number < 0) throw new Error(`attribute ${name} needs a number ≥ 0, got ${number}`);
    query.push(`${name}=${number}`);
  }
  if (query.length === 0) throw new Error(`give at least one attribute (${NAMES}; null clears one)`);
  return query;
}

/** Console words `pmin=5 gt=20 lt` as attributes: a bare name clears it. */
export function attributePairs(words: readonly string[]): Record<string, string | null> {
  const attributes: Record<string, string | null> = {};
  for (const word of words) {
    const at = word.indexOf("=");
    attributes[at < 0 ? word : word.slice(0, at)] = at < 0 ? null : word.slice(at + 1);
  }
  return attributes;
}

/** Longest command expiry taken: ten years. */
export const MAX_EXPIRY_SECONDS = 10 * 365 * 24 * 3600;

/** A command's `expiresInSeconds` in milliseconds: a positive number of seconds (JSON number or numeric text); undefined when not given. */
export function expiryMs(value: unknown, name = "expiresInSeconds"): number | undefined {
  if (value === undefined) return undefined;
  const seconds = numeric(value);
  if (seconds === undefined || !(seconds > 0) || seconds > MAX_EXPIRY_SECONDS) {
    throw new Error(`${name} must be a positive number of seconds (at most ${MAX_EXPIRY_SECONDS}), got ${JSON.stringify(value) ?? String(value)}`);
  }
  return seconds * 1000;
}
