import type { Time } from "../../hal/time.js";
import { codeString, ContentFormat, Method, ResponseCode } from "../coap/constants.js";
import { requestWithBody } from "../coap/blockwise-client.js";
import type { CoapEndpoint } from "../coap/endpoint.js";
import { commonBase, encodeSenmlCbor } from "./content/senml.js";
import type { ResourceEntry } from "./model/values.js";
import { collect } from "./operations/read.js";
import { formatPath, type LwM2mPath } from "./path.js";
import type { ServerSession } from "./server-session.js";
import { ServerResource } from "./objects/server.js";

/**
 * LwM2M 1.1 Send (Information Reporting, POST /dp in SenML CBOR): the values
 * at `paths`, unsolicited. Refused while the server muted Send (/1/x/23).
 */
export function sendValues(endpoint: CoapEndpoint, time: Time, session: ServerSession | undefined, paths: readonly LwM2mPath[], done: (error: Error | undefined) => void): void {
  const fail = (message: string) => void time.setTimer(0, () => done(new Error(message)));
  if (!session || !session.peer) return fail("no such server");
  if (!session.reachable) return fail("not registered");
  if (session.version !== "1.1") return fail("Send needs an LwM2M 1.1 server");
  if (session.serverInstance.get(ServerResource.MuteSend) === true) return fail("the server muted Send (/1/x/23)");
  const entries: ResourceEntry[] = [];
  for (const path of paths) {
    const collected = collect(session.context, path);
    if ("error" in collected) return fail(`cannot read ${formatPath(path)}`);
    entries.push(...collected.entries);
  }
  if (entries.length === 0) return fail("nothing to send");
  session.queueMode.activity();
  requestWithBody(
    endpoint,
    { peer: session.peer, method: Method.POST, path: "/dp", contentFormat: ContentFormat.SenmlCbor, payload: encodeSenmlCbor(commonBase(entries), entries) },
    (error, response) => {
      if (error) return done(error);
      done(response!.code === ResponseCode.Changed ? undefined : new Error(`Send answered ${codeString(response!.code)}`));
    },
  );
}
