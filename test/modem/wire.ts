import dgram from "node:dgram";
import { NodeSerial, type NodeSerialPort } from "../../hal/host/node/node-serial.js";

/**
 * The device end of an emulator's pty, as a test drives it: everything
 * received is kept as latin1 text (one character per byte, so binary data
 * compares exactly), with the chunks as they arrived.
 */
export class Wire {
  text = "";
  readonly chunks: { at: number; text: string }[] = [];
  private mark = 0;
  private readonly port: NodeSerialPort;
  private waiters = new Set<() => void>();

  constructor(path: string, baud = 115200) {
    this.port = new NodeSerial(path).open({
      baud,
      onReceive: (data) => {
        const text = Buffer.from(data).toString("latin1");
        this.text += text;
        this.chunks.push({ at: Date.now(), text });
        for (const waiter of [...this.waiters]) waiter();
      },
    });
  }

  /** What arrived since the last send() or since(). */
  get fresh(): string {
    return this.text.slice(this.mark);
  }

  /** Forgets what arrived so far (for the next expectation). */
  since(): void {
    this.mark = this.text.length;
  }

  write(data: string | Uint8Array): void {
    this.port.write(typeof data === "string" ? Buffer.from(data, "latin1") : data);
  }

  /** Writes `command` CR LF after forgetting what came before. */
  send(command: string): void {
    this.since();
    this.write(`${command}\r\n`);
  }

  /** Waits until what arrived since the mark contains every piece, in order; returns it. */
  async expect(pieces: string | readonly string[], timeoutMs = 3000): Promise<string> {
    const wanted = typeof pieces === "string" ? [pieces] : pieces;
    const matches = () => {
      let at = 0;
      for (const piece of wanted) {
        const found = this.fresh.indexOf(piece, at);
        if (found < 0) return false;
        at = found + piece.length;
      }
      return true;
    };
    if (!matches()) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.waiters.delete(check);
          reject(new Error(`timed out waiting for ${JSON.stringify(wanted)}; got ${JSON.stringify(this.fresh)}`));
        }, timeoutMs);
        const check = () => {
          if (!matches()) return;
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve();
        };
        this.waiters.add(check);
      });
    }
    return this.fresh;
  }

  /** Sends `command` and waits for the pieces of its answer. */
  async step(command: string, pieces: string | readonly string[], timeoutMs?: number): Promise<string> {
    this.send(command);
    return this.expect(pieces, timeoutMs);
  }

  /** Resolves after `ms` with what arrived since the mark. */
  async quiet(ms: number): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.fresh;
  }

  close(): Promise<void> {
    this.port.close();
    return this.port.whenClosed;
  }
}

/** A UDP echo server on 127.0.0.1. */
export async function udpEcho(): Promise<{ port: number; close(): void }> {
  const socket = dgram.createSocket("udp4");
  socket.on("message", (message, remote) => socket.send(message, remote.port, remote.address));
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return { port: socket.address().port, close: () => socket.close() };
}

/** The payload every dialogue sends: it holds a line a parser must not take for a result. */
export const PAYLOAD = Buffer.concat([Buffer.from("\r\nOK\r\n", "latin1"), Buffer.from([0x00, 0xff, 0x80, 0x3e, 0x20, 0x0d])]);
export const PAYLOAD_TEXT = PAYLOAD.toString("latin1");
