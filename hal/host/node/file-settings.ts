import fs from "node:fs";
import path from "node:path";
import { checkSettingKey, checkSettingValue } from "../../common/settings-rules.js";
import type { SettingsStore, SettingValue } from "../../storage.js";

type Stored = string | number | boolean | { bytes: string };

/**
 * Settings in a JSON file, rewritten atomically (temporary file + rename) on
 * every change, so an interrupted write leaves the previous settings.
 */
export class FileSettingsStore implements SettingsStore {
  private readonly file: string;
  private values: Record<string, Stored>;

  constructor(file: string) {
    this.file = file;
    this.values = FileSettingsStore.load(file);
  }

  private static load(file: string): Record<string, Stored> {
    if (!fs.existsSync(file)) return {};
    try {
      const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, Stored>;
    } catch {
      // A damaged file is treated as empty settings; the next write replaces it.
    }
    return {};
  }

  get(key: string): SettingValue | undefined {
    checkSettingKey(key);
    const value = this.values[key];
    if (value === undefined) return undefined;
    if (typeof value === "object") return new Uint8Array(Buffer.from(value.bytes, "base64"));
    return value;
  }

  set(key: string, value: SettingValue): void {
    checkSettingKey(key);
    checkSettingValue(key, value);
    this.values[key] = value instanceof Uint8Array ? { bytes: Buffer.from(value).toString("base64") } : value;
    this.save();
  }

  delete(key: string): void {
    checkSettingKey(key);
    if (!(key in this.values)) return;
    delete this.values[key];
    this.save();
  }

  keys(): string[] {
    return Object.keys(this.values);
  }

  private save(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const temporary = `${this.file}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify(this.values, null, 1));
    fs.renameSync(temporary, this.file);
  }
}
