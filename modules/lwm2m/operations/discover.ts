import { ContentFormat, ResponseCode } from "../../coap/constants.js";
import type { OutgoingResponse } from "../../coap/response.js";
import { encodeLinks, type Link } from "../content/link-format.js";
import { ATTRIBUTE_NAMES } from "../attributes.js";
import { ObjectId } from "../objects/object-ids.js";
import { formatPath, type LwM2mPath } from "../path.js";
import { NOT_FOUND, UNAUTHORIZED, type DmContext } from "./context.js";

function attributesOf(context: DmContext, path: LwM2mPath): [string, number][] {
  const attributes = context.attributes.get(path);
  if (!attributes) return [];
  const out: [string, number][] = [];
  for (const name of ATTRIBUTE_NAMES) if (attributes[name] !== undefined) out.push([name, attributes[name]!]);
  return out;
}

/** Discover (§6.3.2): the object, its instances and resources with their attributes, as link-format. */
export function discover(context: DmContext, path: LwM2mPath): OutgoingResponse {
  if (path.objectId === ObjectId.Security && !context.bootstrap) return UNAUTHORIZED;
  const object = context.store.get(path.objectId);
  if (!object) return NOT_FOUND;
  const links: Link[] = [];
  const resourceLinks = (instanceId: number, only?: number) => {
    const instance = object.instance(instanceId)!;
    for (const resourceId of instance.resourceIds()) {
      if (only !== undefined && resourceId !== only) continue;
      const resourcePath = { objectId: object.id, instanceId, resourceId };
      const content = instance.get(resourceId);
      const attributes: [string, string | number | true][] = attributesOf(context, resourcePath);
      if (content instanceof Map) attributes.unshift(["dim", content.size]);
      links.push({ target: formatPath(resourcePath), attributes });
    }
  };
  if (path.instanceId === undefined) {
    const attributes: [string, string | number | true][] = attributesOf(context, path);
    if (object.definition.version !== "1.0") attributes.unshift(["ver", object.definition.version]);
    links.push({ target: formatPath(path), attributes });
    for (const instanceId of object.instanceIds()) {
      links.push({ target: formatPath({ objectId: object.id, instanceId }), attributes: attributesOf(context, { objectId: object.id, instanceId }) });
      resourceLinks(instanceId);
    }
  } else {
    if (!object.instance(path.instanceId)) return NOT_FOUND;
    if (path.resourceId === undefined) {
      links.push({ target: formatPath(path), attributes: attributesOf(context, path) });
      resourceLinks(path.instanceId);
    } else {
      if (!object.instance(path.instanceId)!.has(path.resourceId) || path.resourceInstanceId !== undefined) return NOT_FOUND;
      resourceLinks(path.instanceId, path.resourceId);
    }
  }
  return { code: ResponseCode.Content, contentFormat: ContentFormat.LinkFormat, payload: encodeLinks(links) };
}
