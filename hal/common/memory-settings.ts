import type { SettingsStore, SettingValue } from "../storage.js";
import { checkSettingKey, checkSettingValue } from "./settings-rules.js";

/** Settings held in RAM with the same rules as every port (tests, devices without non-volatile storage). */
export class MemorySettingsStore implements SettingsStore {
  private readonly values = new Map<string, SettingValue>();

  get(key: string): SettingValue | undefined {
    checkSettingKey(key);
    const value = this.values.get(key);
    return value instanceof Uint8Array ? value.slice() : value;
  }

  set(key: string, value: SettingValue): void {
    checkSettingKey(key);
    checkSettingValue(key, value);
    this.values.set(key, value instanceof Uint8Array ? value.slice() : value);
  }

  delete(key: string): void {
    checkSettingKey(key);
    this.values.delete(key);
  }

  keys(): string[] {
    return Array.from(this.values.keys());
  }
}
