// Globals of the xsnap-worker XS machine that the XS side of the host port
// uses. Device builds have none of them, so only host code may rely on them.
declare function issueCommand(request: ArrayBuffer): ArrayBuffer;

declare class TextEncoder {
  encode(text: string): Uint8Array;
}

declare class TextDecoder {
  decode(bytes: Uint8Array): string;
}

declare const performance: { now(): number };
