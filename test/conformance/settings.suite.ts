import { MAX_SETTING_KEY_LENGTH, MAX_SETTING_VALUE_BYTES } from "../../hal/storage.js";
import { assert, suite } from "./harness.js";

export default suite("settings store", (test) => {
  test("stores every value type", ({ platform }) => {
    const settings = platform.settings;
    settings.set("t.text", "coap://127.0.0.1:5683");
    settings.set("t.number", 86400);
    settings.set("t.flag", true);
    settings.set("t.bytes", new Uint8Array([0, 1, 255]));
    assert.equal(settings.get("t.text"), "coap://127.0.0.1:5683");
    assert.equal(settings.get("t.number"), 86400);
    assert.equal(settings.get("t.flag"), true);
    assert.equal(settings.get("t.bytes"), new Uint8Array([0, 1, 255]));
    assert.ok(settings.keys().indexOf("t.bytes") >= 0, "keys() lists t.bytes");
    for (const key of ["t.text", "t.number", "t.flag", "t.bytes"]) settings.delete(key);
    assert.equal(settings.get("t.text"), undefined);
  });

  test("rejects bad keys and oversized values", ({ platform }) => {
    const settings = platform.settings;
    assert.throws(() => settings.set("", 1), "invalid-argument");
    assert.throws(() => settings.set("k".repeat(MAX_SETTING_KEY_LENGTH + 1), 1), "invalid-argument");
    assert.throws(() => settings.set("bad key", 1), "invalid-argument");
    assert.throws(() => settings.set("t.big", new Uint8Array(MAX_SETTING_VALUE_BYTES + 1)), "too-large");
    assert.throws(() => settings.set("t.nan", NaN), "invalid-argument");
  });
});
