import { ResponseCode } from "../../coap/constants.js";
import type { OutgoingResponse } from "../../coap/response.js";
import { decodeWrite, UnsupportedFormatError } from "../content/formats.js";
import { ContentError, type ResourceEntry } from "../model/values.js";
import type { LwM2mPath } from "../path.js";
import { lookupDefinition, status, type DmContext } from "./context.js";

/** Decodes a written payload, or gives the answer it deserves: 4.15 for an unknown format, 4.00 for bad content. */
export function decodePayload(context: DmContext, path: LwM2mPath, format: number | undefined, payload: Uint8Array): ResourceEntry[] | OutgoingResponse {
  try {
    return decodeWrite(path, format, payload, lookupDefinition(context));
  } catch (error) {
    if (error instanceof UnsupportedFormatError) return status(ResponseCode.UnsupportedContentFormat, error.message);
    if (error instanceof ContentError) return status(ResponseCode.BadRequest, error.message);
    throw error;
  }
}
