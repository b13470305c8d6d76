import type { Platform } from "../../hal/platform.js";
import { ContentFormat, Method, ResponseCode } from "../../modules/coap/constants.js";
import { getLocationPath, utf8Encode, type CoapMessage } from "../../modules/coap/message.js";
import { createStandardStore } from "../../modules/lwm2m/client.js";
import { decodeSenmlJson } from "../../modules/lwm2m/content/senml.js";
import type { ObjectStore } from "../../modules/lwm2m/model/object-store.js";
import { AccessControlResource, ObjectId } from "../../modules/lwm2m/objects/index.js";
import { AclRight } from "../../modules/lwm2m/objects/access-control.js";
import { formatPath } from "../../modules/lwm2m/path.js";
import { assert, suite, waitFor } from "./harness.js";
import { openTestClient, openTestServer, stopClient, type TestServer } from "./lwm2m-helpers.js";

const definitions = createStandardStore();
const lookup = (objectId: number, resourceId: number) => definitions.get(objectId)?.resource(resourceId);
const pathsOf = (message: CoapMessage) => decodeSenmlJson(undefined, message.payload, lookup).map((e) => formatPath(e.path));
const R = AclRight;
const BOOTSTRAP_OWNER = 65535;

/** Two servers (Short Server IDs 1 and 2) on one client: Access Control is enforced between them. */
async function openTwoServers(platform: Platform) {
  const first = await openTestServer(platform);
  const second = await openTestServer(platform);
  const store = createStandardStore();
  const { client } = await openTestClient(platform, first, {
    store,
    servers: [
      { uri: `coap://127.0.0.1:${first.endpoint.localPort}`, shortServerId: 1, lifetime: 60 },
      { uri: `coap://127.0.0.1:${second.endpoint.localPort}`, shortServerId: 2, lifetime: 60 },
    ],
  });
  await waitFor(platform, () => client.registrationState(1) === "registered" && client.registrationState(2) === "registered", 3000, "both registrations");
  const close = async () => {
    await stopClient(platform, client);
    first.close();
    second.close();
  };
  return { first, second, store, client, close };
}

function grant(store: ObjectStore, objectId: number, instanceId: number, acl: [number, number][], owner: number): number {
  const instance = store.get(ObjectId.AccessControl)!.createInstance();
  instance.set(AccessControlResource.ObjectId, objectId);
  instance.set(AccessControlResource.ObjectInstanceId, instanceId);
  instance.set(AccessControlResource.Acl, new Map(acl));
  instance.set(AccessControlResource.AccessControlOwner, owner);
  return instance.id;
}

const put = (server: TestServer, path: string, value: string) => server.request({ method: Method.PUT, path, contentFormat: ContentFormat.TextPlain, payload: utf8Encode(value) });
const get = (server: TestServer, path: string) => server.request({ method: Method.GET, path, accept: ContentFormat.SenmlJson });

/** Access Control (OMA-TS-LightweightM2M_Core 1.1 §7.3, object 2): the questions issue 9 raised. */
export default suite("LwM2M Access Control (issue 9)", (test) => {
  test("access control: the owner's own narrower ACL entry limits it, and it still manages its ACL instance", async ({ platform }) => {
    const { first, second, store, close } = await openTwoServers(platform);
    try {
      const acl = grant(store, ObjectId.Device, 0, [[0, R.Read]], 1);
      assert.equal((await put(first, "/3/0/14", "+02:00")).code, ResponseCode.Changed, "the owner without an entry of its own has full rights");
      assert.equal((await get(second, "/3/0/0")).code, ResponseCode.Content, "server 2 reads through the default entry");
      assert.equal((await put(second, "/3/0/14", "+03:00")).code, ResponseCode.Unauthorized);

      store.get(ObjectId.AccessControl)!.instance(acl)!.set(AccessControlResource.Acl, new Map([[0, R.Read], [1, R.Read]]));
      assert.equal((await put(first, "/3/0/14", "+04:00")).code, ResponseCode.Unauthorized, "the owner's own entry gives its rights");
      assert.equal((await get(first, "/3/0/0")).code, ResponseCode.Content);

      assert.equal((await put(second, `/2/${acl}/2/2`, String(R.Read | R.Write))).code, ResponseCode.Unauthorized, "only the owner manages the ACL instance");
      assert.equal((await get(second, `/2/${acl}`)).code, ResponseCode.Content, "any server may read it");
      assert.equal((await put(first, `/2/${acl}/2/1`, String(R.Read | R.Write))).code, ResponseCode.Changed, "the owner widens its own entry");
      assert.equal((await put(first, "/3/0/14", "+05:00")).code, ResponseCode.Changed);
    } finally {
      await close();
    }
  });

  test("access control: Create naming the reserved instance id 65535 gets 4.00 Bad Request and creates nothing", async ({ platform }) => {
    const { first, second, store, close } = await openTwoServers(platform);
    const app = store.get(ObjectId.BinaryAppDataContainer)!;
    const acls = store.get(ObjectId.AccessControl)!;
    try {
      const createGrant = grant(store, ObjectId.BinaryAppDataContainer, 65535, [[2, R.Create]], BOOTSTRAP_OWNER);
      // Object Instance 65535 holding resource 0 = [0x01] (16-bit instance id).
      const tlv = Uint8Array.of(0x28, 0xff, 0xff, 0x05, 0x83, 0x00, 0x41, 0x00, 0x01);
      assert.equal((await second.request({ method: Method.POST, path: "/19", contentFormat: ContentFormat.LwM2mTlv, payload: tlv })).code, ResponseCode.BadRequest, "TLV");
      const senml = utf8Encode(JSON.stringify([{ n: "/19/65535/0/0", vd: "AQ" }]));
      assert.equal((await second.request({ method: Method.POST, path: "/19", contentFormat: ContentFormat.SenmlJson, payload: senml })).code, ResponseCode.BadRequest, "SenML");
      assert.equal((await second.request({ method: Method.POST, path: "/19/65535", contentFormat: ContentFormat.LwM2mTlv, payload: new Uint8Array(0) })).code, ResponseCode.NotFound, "no instance 65535 can exist");
      assert.equal(app.instanceIds(), []);
      assert.equal(acls.instanceIds(), [createGrant], "no ACL instance for 65535 beside the Create grant");

      const created = await second.request({ method: Method.POST, path: "/19", contentFormat: ContentFormat.LwM2mTlv, payload: new Uint8Array(0) });
      assert.equal(created.code, ResponseCode.Created, "the grant itself works");
      assert.equal(getLocationPath(created), ["19", "0"]);
      assert.equal((await first.request({ method: Method.POST, path: "/19", contentFormat: ContentFormat.LwM2mTlv, payload: new Uint8Array(0) })).code, ResponseCode.Unauthorized, "server 1 has no Create right");
      assert.equal((await put(second, `/2/${createGrant}/2/1`, String(R.Create))).code, ResponseCode.Unauthorized, "the Create grant is managed by bootstrap only");
    } finally {
      await close();
    }
  });

  test("access control: an object-level Read or Observe leaves out the instances the server may not read, in the response and in notifications", async ({ platform }) => {
    const { first, second, store, client, close } = await openTwoServers(platform);
    const app = store.get(ObjectId.BinaryAppDataContainer)!;
    const value = (byte: number) => new Map([[0, Uint8Array.of(byte)]]);
    app.createInstance(0).set(0, value(1));
    app.createInstance(1).set(0, value(2));
    const readable = grant(store, ObjectId.BinaryAppDataContainer, 0, [[2, R.Read]], 1);
    const hidden = grant(store, ObjectId.BinaryAppDataContainer, 1, [], 1);
    const notes: string[][] = [];
    try {
      const object = await get(second, "/19");
      assert.equal(object.code, ResponseCode.Content, "not 4.01");
      assert.equal(pathsOf(object), ["/19/0/0/0"]);
      assert.equal(pathsOf(await get(first, "/19")), ["/19/0/0/0", "/19/1/0/0"], "the owner reads both");
      assert.equal((await get(second, "/19/1")).code, ResponseCode.Unauthorized, "the hidden instance itself stays refused");

      const handle = second.endpoint.observe({ peer: second.clientPeer!, path: "/19", accept: ContentFormat.SenmlJson }, (error, response) => {
        if (!error) notes.push(pathsOf(response!));
      });
      await waitFor(platform, () => notes.length === 1, 2000, "the observe response");
      assert.equal(notes[0], ["/19/0/0/0"]);
      app.instance(1)!.set(0, value(3));
      app.instance(0)!.set(0, value(4));
      await waitFor(platform, () => notes.length >= 2, 2000, "a notification");
      for (const note of notes) assert.equal(note, ["/19/0/0/0"], "notifications leave the hidden instance out");
      handle.cancel();

      // An instance-level observation is not notified while its Read right is revoked (Core §7.3.2.5).
      const resourceNotes: CoapMessage[] = [];
      const resource = second.endpoint.observe({ peer: second.clientPeer!, path: "/19/0/0/0" }, (error, response) => {
        if (!error) resourceNotes.push(response!);
      });
      await waitFor(platform, () => resourceNotes.length === 1, 2000, "the resource observe response");
      store.get(ObjectId.AccessControl)!.instance(readable)!.set(AccessControlResource.Acl, new Map());
      app.instance(0)!.set(0, value(5));
      store.get(ObjectId.AccessControl)!.instance(readable)!.set(AccessControlResource.Acl, new Map([[2, R.Read]]));
      app.instance(0)!.set(0, value(6));
      await waitFor(platform, () => resourceNotes.length >= 2, 2000, "the notification after the right came back");
      assert.equal(resourceNotes.map((note) => Array.from(note.payload)), [[4], [6]], "nothing was sent while the right was revoked");
      assert.equal(client.observersOf({ objectId: ObjectId.BinaryAppDataContainer, instanceId: 0, resourceId: 0, resourceInstanceId: 0 }).length, 1, "the observation stayed");
      resource.cancel();

      assert.equal((await first.request({ method: Method.DELETE, path: "/19/1" })).code, ResponseCode.Deleted);
      assert.equal(store.get(ObjectId.AccessControl)!.instance(hidden), undefined, "the owner's Delete removes the ACL instance");
    } finally {
      await close();
    }
  });

  test("access control: with several servers, an instance without an ACL instance is closed to every server except a server's own Server instance", async ({ platform }) => {
    const { first, second, close } = await openTwoServers(platform);
    try {
      assert.equal((await get(first, "/3/0/0")).code, ResponseCode.Unauthorized);
      assert.equal((await get(second, "/3/0/0")).code, ResponseCode.Unauthorized);
      assert.equal((await put(first, "/3/0/14", "+02:00")).code, ResponseCode.Unauthorized);
      assert.equal((await get(second, "/1/1/0")).code, ResponseCode.Content, "its own Server instance");
      assert.equal((await get(second, "/1/0/0")).code, ResponseCode.Unauthorized, "not the other server's");
      const servers = await get(second, "/1");
      assert.equal(servers.code, ResponseCode.Content);
      assert.ok(pathsOf(servers).every((path) => path.indexOf("/1/1/") === 0), "an object-level Read shows its own Server instance only");
      assert.equal((await first.request({ method: Method.POST, path: "/19", contentFormat: ContentFormat.LwM2mTlv, payload: new Uint8Array(0) })).code, ResponseCode.Unauthorized, "no Create without a grant");
    } finally {
      await close();
    }
  });
});
