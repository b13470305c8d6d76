import { OptionNumber } from "./constants.js";
import { bytesEqual, getOption, getOptions, type CoapMessage } from "./message.js";

/**
 * Conditional requests (RFC 7252 §5.10.8). The CoAP server layer cannot know
 * whether a target exists or what its ETag is; the handler does. A handler
 * that evaluates the conditions says so (setHandler's evaluatesPreconditions)
 * and calls exchange.checkPreconditions() before acting. For any other
 * handler the server layer answers a request carrying If-Match or
 * If-None-Match with 4.12 Precondition Failed without running it: refusing
 * is safe, running the method unconditionally is not.
 */
export interface RequestConditions {
  /** If-Match values; an empty value means "any current representation". Empty list: no If-Match. */
  readonly ifMatch: readonly Uint8Array[];
  readonly ifNoneMatch: boolean;
}

/** What the handler knows of the target resource. */
export interface CurrentRepresentation {
  readonly exists: boolean;
  readonly etag?: Uint8Array | undefined;
}

export function requestConditions(request: CoapMessage): RequestConditions {
  return { ifMatch: getOptions(request, OptionNumber.IfMatch), ifNoneMatch: getOption(request, OptionNumber.IfNoneMatch) !== undefined };
}

export function isConditional(conditions: RequestConditions): boolean {
  return conditions.ifMatch.length > 0 || conditions.ifNoneMatch;
}

/** May the method be performed on `current`? false: answer 4.12 Precondition Failed. */
export function preconditionsHold(conditions: RequestConditions, current: CurrentRepresentation): boolean {
  if (conditions.ifNoneMatch && current.exists) return false;
  if (conditions.ifMatch.length === 0) return true;
  if (!current.exists) return false;
  for (const value of conditions.ifMatch) {
    if (value.length === 0) return true;
    if (current.etag !== undefined && bytesEqual(value, current.etag)) return true;
  }
  return false;
}
