import { MemorySettingsStore } from "../../hal/common/memory-settings.js";
import type { FirmwareConfig } from "../../hal/platform.js";
import { DEFAULTS, readFirmwareSettings, SETTING_KEYS } from "../../modules/app/firmware-settings.js";
import { assert, suite } from "./harness.js";

const BOOTSTRAP = "coap://127.0.0.1:5783";
const SERVER = "coap://127.0.0.1:5684";

function read(config: FirmwareConfig, stored: Record<string, string> = {}) {
  const settings = new MemorySettingsStore();
  for (const key of Object.keys(stored)) settings.set(key, stored[key]!);
  return readFirmwareSettings(config, settings);
}

/** The demo firmware's bootstrap modes, as mcconfig's `bootstrapMode=...` or `npm start -- --bootstrap-mode` give them (issue 9, item 6). */
export default suite("firmware settings: bootstrapMode", (test) => {
  test("without bootstrapMode: factory, or sequence when a bootstrap server is given (the behaviour before the option)", () => {
    const plain = read({});
    assert.equal(plain.bootstrapMode, "factory");
    assert.equal(plain.server, DEFAULTS.server);
    const withBootstrap = read({ bootstrap: BOOTSTRAP, server: SERVER });
    assert.equal(withBootstrap.bootstrapMode, "sequence");
    assert.equal(withBootstrap.server, SERVER);
    assert.equal(withBootstrap.bootstrap, BOOTSTRAP);
  });

  test("bootstrapMode=client-initiated needs only the bootstrap server; a server beside it is ignored and named", () => {
    const alone = read({ bootstrapMode: "client-initiated", bootstrap: BOOTSTRAP });
    assert.equal(alone.bootstrapMode, "client-initiated");
    assert.equal(alone.server, undefined, "no factory server in client-initiated mode");
    assert.equal(alone.ignoredServer, undefined);
    const beside = read({ bootstrapMode: "client-initiated", bootstrap: BOOTSTRAP, server: SERVER });
    assert.equal(beside.server, undefined);
    assert.equal(beside.ignoredServer, SERVER);
  });

  test("bootstrapMode=factory and sequence keep the server; factory ignores a bootstrap server", () => {
    const factory = read({ bootstrapMode: "factory", server: SERVER, bootstrap: BOOTSTRAP });
    assert.equal(factory.bootstrapMode, "factory");
    assert.equal(factory.server, SERVER);
    assert.equal(factory.bootstrap, undefined);
    assert.equal(factory.ignoredBootstrap, BOOTSTRAP);
    const sequence = read({ bootstrapMode: "sequence", server: SERVER, bootstrap: BOOTSTRAP });
    assert.equal(sequence.bootstrapMode, "sequence");
    assert.equal(sequence.server, SERVER);
    assert.equal(sequence.bootstrap, BOOTSTRAP);
  });

  test("bootstrapMode comes from the settings store when the configuration has none", () => {
    const stored = read({}, { [SETTING_KEYS.bootstrapMode]: "client-initiated", [SETTING_KEYS.bootstrap]: BOOTSTRAP });
    assert.equal(stored.bootstrapMode, "client-initiated");
  });

  test("an unknown bootstrapMode is refused, naming the allowed values", () => {
    assert.throws(() => read({ bootstrapMode: "server-initiated", bootstrap: BOOTSTRAP }), "bootstrapMode must be factory, client-initiated or sequence");
  });

  test("client-initiated and sequence without a bootstrap server are refused", () => {
    assert.throws(() => read({ bootstrapMode: "client-initiated", server: SERVER }), "bootstrapMode client-initiated needs a bootstrap server");
    assert.throws(() => read({ bootstrapMode: "sequence", server: SERVER }), "bootstrapMode sequence needs a bootstrap server");
  });

  test("PSK options: the default server becomes coaps://, a PSK needs a coaps:// server and a coaps:// server needs the PSK", () => {
    const secure = read({ pskId: "dev1", psk: "00ff10" });
    assert.equal(secure.server, DEFAULTS.secureServer);
    assert.equal([secure.pskId, Array.from(secure.psk!)], ["dev1", [0, 255, 16]]);
    assert.equal(read({ pskId: "dev1", psk: "01", bootstrap: "coaps://127.0.0.1:5784", bootstrapMode: "client-initiated" }).bootstrap, "coaps://127.0.0.1:5784");
    assert.throws(() => read({ pskId: "dev1", psk: "01", server: SERVER }), "pskId and psk need a coaps:// server");
    assert.throws(() => read({ server: "coaps://127.0.0.1:5684" }), "give pskId and psk");
    assert.throws(() => read({ pskId: "dev1", psk: "0g", server: "coaps://127.0.0.1:5684" }), "psk must be hex pairs");
  });

  test("DTLS handshake timers: whole milliseconds, the first not above the largest; absent keeps the defaults", () => {
    assert.equal([read({}).dtlsHandshakeMinMs, read({}).dtlsHandshakeMaxMs], [undefined, undefined]);
    const nbIot = read({ dtlsHandshakeMin: "4000" }, { [SETTING_KEYS.dtlsHandshakeMax]: "240000" });
    assert.equal([nbIot.dtlsHandshakeMinMs, nbIot.dtlsHandshakeMaxMs], [4000, 240000]);
    assert.throws(() => read({ dtlsHandshakeMin: "5000", dtlsHandshakeMax: "1000" }), "must not exceed");
    assert.throws(() => read({ dtlsHandshakeMin: "fast" }), "dtlsHandshakeMin must be a whole number");
  });
});
