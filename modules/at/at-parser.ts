import type { SocketAddress } from "../../hal/net.js";

/** What a frame header says: which link, how many raw bytes follow, and from whom when the module tells. */
export interface FrameHeader {
  readonly link: number;
  readonly length: number;
  readonly remote?: SocketAddress;
}

/**
 * A length-prefixed binary frame such as `+IPD,0,12,1.2.3.4,5683:` (ESP8266)
 * or `+RECEIVE,0,12:⏎` (SIM900A). The header runs from the prefix to the
 * first colon; its data is read by length, never by line framing.
 */
export interface FrameRecognizer {
  /** E.g. "+IPD,"; recognised anywhere in a line, so noise may precede it. */
  readonly prefix: string;
  /** The text between the prefix and the colon; undefined when malformed. */
  parseHeader(fields: string): FrameHeader | undefined;
  /** A CR LF follows the colon before the data (SIM900A). */
  readonly crlfAfterColon: boolean;
  /** Longer frames are rejected as noise and the parser resynchronises on the next line. */
  readonly maxLength: number;
}

export interface AtParserEvents {
  onLine(line: string): void;
  /** The data prompt `>` (or `> `) at the start of a line, with no line end. */
  onPrompt(): void;
  onFrame(header: FrameHeader, data: Uint8Array): void;
}

export interface AtParserStats {
  /** Lines longer than the bound, dropped as noise. */
  readonly droppedLines: number;
  /** Frame headers that were malformed or announced too much data. */
  readonly rejectedFrames: number;
  readonly frames: number;
}

/** What the parser holds right now, against its bounds (tests and the field log). */
export interface AtParserBuffers {
  /** Bytes of the partial line held, at most `maxLine`. */
  readonly line: number;
  readonly maxLine: number;
  /** A frame's header was seen and its data is not all in. */
  readonly inFrame: boolean;
  /** Of that frame: bytes in, bytes announced, and its recogniser's maxLength (all 0 outside a frame). */
  readonly frameFilled: number;
  readonly frameLength: number;
  readonly maxFrame: number;
}

export const AT_PARSER_DEFAULTS = Object.freeze({ maxLineLength: 256 });

/**
 * A frame header (prefix to colon, e.g. `+IPD,0,2048,255.255.255.255,65535`)
 * is looked for in this many bytes before a colon only, so a noise line full
 * of colons costs linear time, not quadratic.
 */
const MAX_FRAME_HEADER = 64;

const CR = 13;
const LF = 10;
const COLON = 58;
const PROMPT = 62;
const SPACE = 32;

const enum Mode {
  Line,
  FrameCrlf,
  FrameData,
  AfterPrompt,
}

/**
 * The byte-stream parser of the AT channel. It is fed chunks of any size (one
 * byte at a time works) and emits lines, prompts and binary frames. Every
 * buffer is bounded: a line by maxLineLength, a frame by its recogniser's
 * maxLength.
 */
export class AtParser {
  private readonly events: AtParserEvents;
  private readonly recognizers: FrameRecognizer[] = [];
  private readonly line: Uint8Array;
  private lineLength = 0;
  private overflowed = false;
  private mode = Mode.Line;
  private frameHeader: FrameHeader | undefined;
  private frameData: Uint8Array | undefined;
  private frameFilled = 0;
  private frameMax = 0;
  private crlfSkipped = 0;
  private dropped = 0;
  private rejected = 0;
  private frameCount = 0;

  constructor(events: AtParserEvents, maxLineLength: number = AT_PARSER_DEFAULTS.maxLineLength) {
    this.events = events;
    this.line = new Uint8Array(maxLineLength);
  }

  addFrame(recognizer: FrameRecognizer): void {
    this.recognizers.push(recognizer);
  }

  get stats(): AtParserStats {
    return { droppedLines: this.dropped, rejectedFrames: this.rejected, frames: this.frameCount };
  }

  get buffers(): AtParserBuffers {
    const data = this.frameData;
    const inFrame = this.mode === Mode.FrameCrlf || this.mode === Mode.FrameData;
    return {
      line: this.lineLength,
      maxLine: this.line.length,
      inFrame,
      frameFilled: inFrame ? this.frameFilled : 0,
      frameLength: inFrame && data ? data.length : 0,
      maxFrame: inFrame ? this.frameMax : 0,
    };
  }

  /** Forgets a partial line or frame (after a module reset). */
  reset(): void {
    this.lineLength = 0;
    this.overflowed = false;
    this.mode = Mode.Line;
    this.frameHeader = undefined;
    this.frameData = undefined;
  }

  feed(chunk: Uint8Array): void {
    let index = 0;
    while (index < chunk.length) {
      if (this.mode === Mode.FrameData) {
        index = this.fillFrame(chunk, index);
        continue;
      }
      const byte = chunk[index++]!;
      if (this.mode === Mode.FrameCrlf) {
        if ((byte === CR || byte === LF) && this.crlfSkipped < 2) {
          this.crlfSkipped++;
          continue;
        }
        this.mode = Mode.FrameData;
        index--;
        continue;
      }
      if (this.mode === Mode.AfterPrompt) {
        this.mode = Mode.Line;
        if (byte === SPACE) continue;
      }
      this.lineByte(byte);
    }
  }

  private lineByte(byte: number): void {
    if (byte === CR || byte === LF) {
      this.endLine();
      return;
    }
    if (byte === PROMPT && this.lineLength === 0 && !this.overflowed) {
      this.mode = Mode.AfterPrompt;
      this.events.onPrompt();
      return;
    }
    if (this.lineLength >= this.line.length) {
      this.overflowed = true;
      return;
    }
    this.line[this.lineLength++] = byte;
    if (byte === COLON && !this.overflowed && this.recognizers.length > 0) this.checkFrame();
  }

  private endLine(): void {
    if (this.overflowed) {
      this.dropped++;
    } else if (this.lineLength > 0) {
      const text = this.text(0, this.lineLength);
      this.lineLength = 0;
      this.events.onLine(text);
    }
    this.lineLength = 0;
    this.overflowed = false;
  }

  private checkFrame(): void {
    const end = this.lineLength - 1;
    const start = end > MAX_FRAME_HEADER ? end - MAX_FRAME_HEADER : 0;
    const text = this.text(start, end);
    for (const recognizer of this.recognizers) {
      const at = text.lastIndexOf(recognizer.prefix);
      if (at < 0) continue;
      const header = recognizer.parseHeader(text.slice(at + recognizer.prefix.length));
      this.lineLength = 0;
      if (!header || !(header.length >= 0) || header.length > recognizer.maxLength) {
        // Resynchronise: the rest of this line is noise.
        this.rejected++;
        this.overflowed = true;
        return;
      }
      if (start + at > 0) this.dropped++;
      this.frameHeader = header;
      this.frameData = new Uint8Array(header.length);
      this.frameFilled = 0;
      this.frameMax = recognizer.maxLength;
      this.crlfSkipped = 0;
      this.mode = recognizer.crlfAfterColon ? Mode.FrameCrlf : Mode.FrameData;
      if (header.length === 0 && !recognizer.crlfAfterColon) this.finishFrame();
      return;
    }
  }

  private fillFrame(chunk: Uint8Array, index: number): number {
    const data = this.frameData!;
    const take = Math.min(data.length - this.frameFilled, chunk.length - index);
    data.set(chunk.subarray(index, index + take), this.frameFilled);
    this.frameFilled += take;
    if (this.frameFilled >= data.length) this.finishFrame();
    return index + take;
  }

  private finishFrame(): void {
    const header = this.frameHeader!;
    const data = this.frameData!;
    this.frameHeader = undefined;
    this.frameData = undefined;
    this.mode = Mode.Line;
    this.frameCount++;
    this.events.onFrame(header, data);
  }

  private text(from: number, to: number): string {
    let result = "";
    for (let i = from; i < to; i++) result += String.fromCharCode(this.line[i]!);
    return result;
  }
}
