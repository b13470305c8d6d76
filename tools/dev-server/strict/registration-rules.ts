/**
 * Rules of the Client Registration Interface (LwM2M TS 1.1 §6.2): the query
 * parameters of Register, Update and De-register, and their link-format
 * payloads.
 */
import { TextDecoder } from "node:util";
import { ContentFormat } from "../../../modules/coap/constants.js";
import { checkObjectLinks, parseStrictLinkFormat } from "./link-format-rules.js";
import { quoteForLog, type Problem } from "./violations.js";

export interface QueryParameter {
  readonly name: string;
  /** Undefined when the argument has no "=" (a flag such as Q). */
  readonly value?: string;
}

/** The registration request as the rules need it. */
export interface RegistrationRequest {
  readonly query: readonly string[];
  readonly contentFormat: number | undefined;
  readonly payload: Uint8Array;
}

const REGISTER = "LwM2M TS §6.2.1";
const UPDATE = "LwM2M TS §6.2.2";
const DEREGISTER = "LwM2M TS §6.2.3";

export const LWM2M_VERSIONS: readonly string[] = Object.freeze(["1.0", "1.1", "1.2"]);
export const BINDINGS: readonly string[] = Object.freeze(["U", "UQ", "S", "SQ", "US", "UQS", "T", "N"]);
const REGISTER_PARAMETERS: readonly string[] = Object.freeze(["ep", "lt", "lwm2m", "b", "sms", "Q"]);
const UPDATE_PARAMETERS: readonly string[] = Object.freeze(["lt", "b", "sms", "Q"]);
/** An Endpoint Client Name sits in the query `ep={name}`: RFC 3986 query characters, without "&", "=" or "%". */
export const ENDPOINT_NAME = /^[A-Za-z0-9\-._~!$'()*+,;:@/?]+$/;
const LIFETIME = /^[1-9][0-9]*$/;
const MSISDN = /^\+?[0-9]{1,15}$/;

/** Splits Uri-Query arguments at their first "=". */
export function parseQuery(query: readonly string[]): QueryParameter[] {
  return query.map((item) => {
    const equals = item.indexOf("=");
    return equals < 0 ? { name: item } : { name: item.slice(0, equals), value: item.slice(equals + 1) };
  });
}

/** Rules of one query parameter's value, shared by Register and Update. */
function checkParameter(parameter: QueryParameter, rule: string, version: string | undefined): Problem[] {
  const problems: Problem[] = [];
  const add = (message: string) => problems.push({ rule, message });
  const { name, value } = parameter;
  const shown = value === undefined ? name : `${name}=${quoteForLog(value)}`;
  switch (name) {
    case "ep":
      if (!value) add(`ep needs the Endpoint Client Name: "${shown}"`);
      else if (!ENDPOINT_NAME.test(value)) add(`ep contains characters not allowed in an Endpoint Client Name (RFC 3986 query characters except "&", "=", "%"): "${shown}"`);
      break;
    case "lt":
      if (value === undefined || !LIFETIME.test(value)) add(`lt must be a positive whole number of seconds: "${shown}"`);
      break;
    case "lwm2m":
      if (value === undefined || !LWM2M_VERSIONS.includes(value)) add(`lwm2m must be one of ${LWM2M_VERSIONS.join(", ")}: "${shown}"`);
      break;
    case "b":
      if (value === undefined || !BINDINGS.includes(value)) add(`b must be one of ${BINDINGS.join(", ")}: "${shown}"`);
      break;
    case "sms":
      if (value === undefined || !MSISDN.test(value)) add(`sms must be an MSISDN (digits, optionally a leading "+"): "${shown}"`);
      break;
    case "Q":
      if (value !== undefined) add(`Q (queue mode) is a flag without a value: "${shown}"`);
      if (version === "1.0") add("Q (queue mode) is a parameter of LwM2M 1.1 and later; an LwM2M 1.0 client gives queue mode in b");
      break;
  }
  return problems;
}

/** Unknown and repeated parameters, then each value. */
export function checkParameters(parameters: readonly QueryParameter[], allowed: readonly string[], rule: string, operation: string, version: string | undefined): Problem[] {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const parameter of parameters) {
    if (!allowed.includes(parameter.name)) {
      problems.push({ rule, message: `unknown ${operation} parameter "${quoteForLog(parameter.name)}" (allowed: ${allowed.join(", ")})` });
      continue;
    }
    if (seen.has(parameter.name)) problems.push({ rule, message: `parameter "${parameter.name}" given more than once` });
    seen.add(parameter.name);
    problems.push(...checkParameter(parameter, rule, version));
  }
  return problems;
}

/** The link-format payload: Content-Format 40, UTF-8, strict RFC 6690, LwM2M object list rules. */
function checkObjectList(request: RegistrationRequest, rule: string, operation: string): Problem[] {
  if (request.contentFormat !== ContentFormat.LinkFormat) {
    const given = request.contentFormat === undefined ? "none" : String(request.contentFormat);
    return [{ rule, message: `the ${operation} payload must have Content-Format 40 (application/link-format), got ${given}` }];
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(request.payload);
  } catch {
    return [{ rule: "RFC 6690 §2", message: `the ${operation} payload is not UTF-8` }];
  }
  const parsed = parseStrictLinkFormat(text);
  return [...parsed.problems, ...checkObjectLinks(parsed.links)];
}

/** Register (POST /rd). */
export function checkRegister(request: RegistrationRequest): Problem[] {
  const parameters = parseQuery(request.query);
  const version = parameters.find((parameter) => parameter.name === "lwm2m")?.value ?? "1.0";
  const problems = checkParameters(parameters, REGISTER_PARAMETERS, REGISTER, "Register", version);
  if (!parameters.some((parameter) => parameter.name === "ep")) problems.push({ rule: REGISTER, message: "ep (Endpoint Client Name) is required" });
  if (request.payload.length === 0) problems.push({ rule: REGISTER, message: "Register must carry the Objects and Object Instances list (a link-format payload)" });
  else problems.push(...checkObjectList(request, REGISTER, "Register"));
  return problems;
}

/** Update (POST /rd/{location}); `version` is the LwM2M version the client registered with. */
export function checkUpdate(request: RegistrationRequest, version: string): Problem[] {
  const problems = checkParameters(parseQuery(request.query), UPDATE_PARAMETERS, UPDATE, "Update", version);
  if (request.payload.length > 0) problems.push(...checkObjectList(request, UPDATE, "Update"));
  return problems;
}

/** De-register (DELETE /rd/{location}): no parameters, no payload. */
export function checkDeregister(request: RegistrationRequest): Problem[] {
  const problems: Problem[] = [];
  if (request.query.length > 0) problems.push({ rule: DEREGISTER, message: `De-register takes no parameters, got "${quoteForLog(request.query.join("&"))}"` });
  if (request.payload.length > 0) problems.push({ rule: DEREGISTER, message: `De-register has no payload, got ${request.payload.length} bytes` });
  return problems;
}
