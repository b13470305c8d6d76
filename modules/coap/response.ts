import { OptionNumber } from "./constants.js";
import { addOption, setUintOption, utf8Encode, type CoapMessage, type CoapOption } from "./message.js";

/** A response (or notification) as a server handler describes it. */
export interface OutgoingResponse {
  readonly code: number;
  readonly payload?: Uint8Array;
  readonly contentFormat?: number;
  readonly options?: readonly CoapOption[];
  readonly locationPath?: readonly string[];
  readonly maxAge?: number;
  readonly etag?: Uint8Array;
}

export function applyResponse(message: CoapMessage, response: OutgoingResponse): void {
  if (response.contentFormat !== undefined) setUintOption(message, OptionNumber.ContentFormat, response.contentFormat);
  if (response.maxAge !== undefined) setUintOption(message, OptionNumber.MaxAge, response.maxAge);
  if (response.etag) addOption(message, OptionNumber.ETag, response.etag);
  for (const segment of response.locationPath ?? []) addOption(message, OptionNumber.LocationPath, utf8Encode(segment));
  for (const option of response.options ?? []) addOption(message, option.number, option.value);
  if (response.payload) message.payload = response.payload;
}
