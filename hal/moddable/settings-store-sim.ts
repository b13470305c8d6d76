import Preference from "preference";
import { checkSettingKey, checkSettingValue } from "../common/settings-rules.js";
import type { SettingsStore, SettingValue } from "../storage.js";
import { decodeSetting, encodeSetting } from "./setting-codec.js";

/** Settings in the SDK's Preference module (files on the simulator's host). */
export function createSettingsStore(domain: string): SettingsStore {
  return {
    get(key: string): SettingValue | undefined {
      checkSettingKey(key);
      const stored = Preference.get(domain, key);
      return stored instanceof ArrayBuffer ? decodeSetting(stored) : undefined;
    },
    set(key: string, value: SettingValue): void {
      checkSettingKey(key);
      checkSettingValue(key, value);
      Preference.set(domain, key, encodeSetting(value));
    },
    delete(key: string): void {
      checkSettingKey(key);
      Preference.delete(domain, key);
    },
    keys(): string[] {
      return Preference.keys(domain);
    },
  };
}
