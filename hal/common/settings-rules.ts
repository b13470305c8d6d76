import { HalError } from "../errors.js";
import { MAX_SETTING_KEY_LENGTH, MAX_SETTING_VALUE_BYTES, type SettingValue } from "../storage.js";

const KEY_PATTERN = /^[A-Za-z0-9_.-]+$/;

/** The rules every SettingsStore port enforces, so settings move between ports unchanged. */
export function checkSettingKey(key: string): void {
  if (typeof key !== "string" || key.length === 0 || key.length > MAX_SETTING_KEY_LENGTH || !KEY_PATTERN.test(key)) {
    throw new HalError("invalid-argument", `setting key "${String(key)}" must be 1..${MAX_SETTING_KEY_LENGTH} characters of [A-Za-z0-9_.-]`);
  }
}

export function checkSettingValue(key: string, value: SettingValue): void {
  let bytes: number;
  if (value instanceof Uint8Array) bytes = value.length;
  else if (typeof value === "string") bytes = utf8Length(value);
  else if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new HalError("invalid-argument", `setting ${key}: ${value} is not a finite number`);
    bytes = 8;
  } else if (typeof value === "boolean") bytes = 1;
  else throw new HalError("invalid-argument", `setting ${key}: unsupported value type ${typeof value}`);
  if (bytes > MAX_SETTING_VALUE_BYTES) {
    throw new HalError("too-large", `setting ${key}: ${bytes} bytes exceeds ${MAX_SETTING_VALUE_BYTES}`);
  }
}

function utf8Length(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) length += 1;
    else if (code < 0x800) length += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      length += 4;
      i++;
    } else length += 3;
  }
  return length;
}
