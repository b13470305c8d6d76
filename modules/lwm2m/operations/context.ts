import type { Logger } from "../../../hal/log.js";
import { ContentFormat, ResponseCode } from "../../coap/constants.js";
import { utf8Encode } from "../../coap/message.js";
import type { OutgoingResponse } from "../../coap/response.js";
import type { AttributeStore } from "../attributes.js";
import type { ObjectStore } from "../model/object-store.js";
import type { ResourceDefinition } from "../model/types.js";

/** What a device-management operation needs to know about the request's server. */
export interface DmContext {
  readonly store: ObjectStore;
  readonly shortServerId: number;
  /** The bootstrap server sees the Security object; DM servers do not. */
  readonly bootstrap: boolean;
  readonly attributes: AttributeStore;
  readonly log?: Logger;
  /** Runs `action` after the response has been sent (Reboot, Factory Reset). */
  defer(action: () => void): void;
  /** True while Access Control (object 2) is enforced: the client serves more than one server. */
  readonly accessControl?: () => boolean;
}

export function lookupDefinition(context: DmContext): (objectId: number, resourceId: number) => ResourceDefinition | undefined {
  return (objectId, resourceId) => context.store.get(objectId)?.resource(resourceId);
}

export function status(code: number, message?: string): OutgoingResponse {
  if (!message) return { code };
  return { code, payload: utf8Encode(message), contentFormat: ContentFormat.TextPlain };
}

export const NOT_FOUND = Object.freeze(status(ResponseCode.NotFound));
export const METHOD_NOT_ALLOWED = Object.freeze(status(ResponseCode.MethodNotAllowed));
export const UNAUTHORIZED = Object.freeze(status(ResponseCode.Unauthorized));
