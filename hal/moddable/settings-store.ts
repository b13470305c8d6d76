import storage from "embedded:storage/key-value";
import { checkSettingKey, checkSettingValue } from "../common/settings-rules.js";
import type { SettingsStore, SettingValue } from "../storage.js";
import { decodeSetting, encodeSetting } from "./setting-codec.js";

/** Settings in ECMA-419 key-value storage (NVS on ESP32, the settings subsystem on Zephyr). */
export function createSettingsStore(domain: string): SettingsStore {
  const store = storage.open({ path: domain, mode: "r+", format: "buffer" });
  return {
    get(key: string): SettingValue | undefined {
      checkSettingKey(key);
      const stored = store.read(key);
      return stored instanceof ArrayBuffer ? decodeSetting(stored) : undefined;
    },
    set(key: string, value: SettingValue): void {
      checkSettingKey(key);
      checkSettingValue(key, value);
      store.write(key, encodeSetting(value));
    },
    delete(key: string): void {
      checkSettingKey(key);
      store.delete(key);
    },
    keys(): string[] {
      const keys: string[] = [];
      const iterator = store[Symbol.iterator]();
      for (let step = iterator.next(); !step.done; step = iterator.next()) keys.push(step.value);
      return keys;
    },
  };
}
