import type { Link } from "./content/link-format.js";
import type { ObjectStore } from "./model/object-store.js";
import { ObjectId } from "./objects/object-ids.js";

/**
 * The object list of Register and of Updates after a change
 * (OMA-TS-LightweightM2M_Transport §6.2.1): the root link
 * `</>;rt="oma.lwm2m";ct=112`, every object with its instances, `ver` for
 * objects that are not version 1.0, and never the Security object.
 */
export function registrationLinks(store: ObjectStore): Link[] {
  const links: Link[] = [{ target: "/", attributes: [["rt", "oma.lwm2m"], ["ct", 112]] }];
  for (const object of store.list()) {
    if (object.id === ObjectId.Security) continue;
    const ids = object.instanceIds();
    const version = object.definition.version;
    if (ids.length === 0 || version !== "1.0") links.push({ target: `/${object.id}`, attributes: version !== "1.0" ? [["ver", version]] : [] });
    for (const id of ids) links.push({ target: `/${object.id}/${id}`, attributes: [] });
  }
  return links;
}
