/** Byte and text helpers of the modem emulators. */

const CR = 13;
const LF = 10;

export function latin1(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}

export function printable(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) {
    if (byte === CR) text += "\\r";
    else if (byte === LF) text += "\\n";
    else if (byte === 0x5c) text += "\\\\";
    else if (byte >= 0x20 && byte < 0x7f) text += String.fromCharCode(byte);
    else text += `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return text;
}

/** The parameters after `=`: comma-separated, strings in double quotes (backslash escapes the next character). */
export function parseArgs(text: string): string[] {
  const args: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted && char === "\\" && i + 1 < text.length) current += text[++i];
    else if (char === '"') quoted = !quoted;
    else if (char === "," && !quoted) {
      args.push(current);
      current = "";
    } else current += char;
  }
  args.push(current);
  return args;
}

/** A data frame as the module sends it: the text header, then the raw bytes. */
export function frameOf(head: string, data: Uint8Array): Uint8Array {
  const frame = new Uint8Array(head.length + data.length);
  frame.set(latin1(head));
  frame.set(data, head.length);
  return frame;
}
