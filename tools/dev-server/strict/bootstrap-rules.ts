/**
 * Rules of the Bootstrap-Request (LwM2M TS 1.1 §6.1, client-initiated
 * bootstrap): POST /bs?ep={Endpoint Client Name}[&pct={Preferred Content
 * Format}], without payload.
 */
import { ContentFormat } from "../../../modules/coap/constants.js";
import { checkParameters, parseQuery, type RegistrationRequest } from "./registration-rules.js";
import { quoteForLog, type Problem } from "./violations.js";

const BOOTSTRAP_REQUEST = "LwM2M TS §6.1 Bootstrap-Request";
const BOOTSTRAP_PARAMETERS: readonly string[] = Object.freeze(["ep", "pct"]);

/** The formats a client may name in pct: those the bootstrap server's writes can use. */
export const PREFERRED_FORMATS: Readonly<Record<number, string>> = Object.freeze({
  [ContentFormat.LwM2mTlv]: "TLV",
  [ContentFormat.SenmlJson]: "SenML JSON",
  [ContentFormat.SenmlCbor]: "SenML CBOR",
  [ContentFormat.LwM2mJson]: "LwM2M JSON",
});

export function checkBootstrapRequest(request: RegistrationRequest): Problem[] {
  const parameters = parseQuery(request.query);
  const problems = checkParameters(parameters, BOOTSTRAP_PARAMETERS, BOOTSTRAP_REQUEST, "Bootstrap-Request", undefined);
  if (!parameters.some((parameter) => parameter.name === "ep")) problems.push({ rule: BOOTSTRAP_REQUEST, message: "ep (Endpoint Client Name) is required" });
  for (const parameter of parameters) {
    if (parameter.name !== "pct") continue;
    const value = parameter.value;
    if (value === undefined || !/^[0-9]+$/.test(value) || PREFERRED_FORMATS[Number(value)] === undefined) {
      const allowed = Object.keys(PREFERRED_FORMATS).map((format) => `${format} (${PREFERRED_FORMATS[Number(format)]})`).join(", ");
      problems.push({ rule: BOOTSTRAP_REQUEST, message: `pct must be one of ${allowed}: "${quoteForLog(value ?? "pct")}"` });
    }
  }
  if (request.payload.length > 0) problems.push({ rule: BOOTSTRAP_REQUEST, message: `a Bootstrap-Request has no payload, got ${request.payload.length} bytes` });
  return problems;
}
