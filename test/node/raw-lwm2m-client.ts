import dgram from "node:dgram";
import { decodeMessage, encodeMessage } from "../../modules/coap/codec.js";
import { ContentFormat, MessageType, Method, OptionNumber, ResponseCode } from "../../modules/coap/constants.js";
import { addUriQuery, createMessage, getLocationPath, getUriPath, setUintOption, setUriPath, utf8Encode, type CoapMessage } from "../../modules/coap/message.js";

/**
 * An LwM2M client on a bare UDP socket, for tests that need a client to
 * misbehave on purpose: one that registers and then stops answering, or a
 * queue-mode client that sleeps until the test makes it send an Update.
 * Requests from the server go to `onRequest`; it answers with the message it
 * returns, or not at all (undefined).
 */
export class RawLwM2mClient {
  readonly received: CoapMessage[] = [];
  onRequest: (request: CoapMessage) => { code: number; payload?: string; contentFormat?: number; observe?: number } | undefined = () => undefined;
  private closed = false;
  private readonly socket = dgram.createSocket("udp4");
  private readonly serverPort: number;
  private messageId = 1;
  private location: string[] = [];
  private readonly waiting = new Map<number, (message: CoapMessage) => void>();

  private constructor(serverPort: number) {
    this.serverPort = serverPort;
    this.socket.on("message", (bytes) => {
      const decoded = decodeMessage(new Uint8Array(bytes));
      if (!decoded.ok) return;
      const message = decoded.message;
      if (message.type === MessageType.Acknowledgement || message.type === MessageType.Reset) {
        this.waiting.get(message.messageId)?.(message);
        this.waiting.delete(message.messageId);
        return;
      }
      if (message.code === 0 || message.code >= 64) return;
      this.received.push(message);
      const answer = this.onRequest(message);
      if (answer) this.reply(message, answer);
    });
  }

  /** Answers a request with a piggybacked response (late answers included); `observe` adds the Observe option. */
  reply(request: CoapMessage, answer: { code: number; payload?: string; contentFormat?: number; observe?: number }): void {
    const reply = createMessage(MessageType.Acknowledgement, answer.code, request.messageId, request.token);
    if (answer.observe !== undefined) setUintOption(reply, OptionNumber.Observe, answer.observe);
    if (answer.payload !== undefined) {
      setUintOption(reply, OptionNumber.ContentFormat, answer.contentFormat ?? ContentFormat.TextPlain);
      reply.payload = utf8Encode(answer.payload);
    }
    if (!this.closed) this.socket.send(encodeMessage(reply), this.serverPort, "127.0.0.1");
  }

  static async open(serverPort: number): Promise<RawLwM2mClient> {
    const client = new RawLwM2mClient(serverPort);
    await new Promise<void>((resolve) => client.socket.bind(0, "127.0.0.1", resolve));
    return client;
  }

  /** Requests received for `path` ("/3/0/0"). */
  requestsFor(path: string): CoapMessage[] {
    return this.received.filter((message) => `/${getUriPath(message).join("/")}` === path);
  }

  /** Sends a NON notification for the observation `request` opened (2.05, text). */
  notify(request: CoapMessage, sequence: number, payload: string): void {
    const message = createMessage(MessageType.NonConfirmable, ResponseCode.Content, this.messageId++ & 0xffff, request.token);
    setUintOption(message, OptionNumber.Observe, sequence);
    setUintOption(message, OptionNumber.ContentFormat, ContentFormat.TextPlain);
    message.payload = utf8Encode(payload);
    if (!this.closed) this.socket.send(encodeMessage(message), this.serverPort, "127.0.0.1");
  }

  async register(endpoint: string, options: { binding?: string; lifetime?: number } = {}): Promise<void> {
    const message = this.request(Method.POST, "/rd");
    addUriQuery(message, `ep=${endpoint}`);
    addUriQuery(message, `lt=${options.lifetime ?? 300}`);
    addUriQuery(message, "lwm2m=1.1");
    addUriQuery(message, `b=${options.binding ?? "U"}`);
    setUintOption(message, OptionNumber.ContentFormat, ContentFormat.LinkFormat);
    message.payload = utf8Encode('</>;rt="oma.lwm2m",</1/0>,</3/0>');
    const answer = await this.exchange(message);
    if (answer.code !== ResponseCode.Created) throw new Error(`Register answered ${answer.code}`);
    this.location = getLocationPath(answer);
  }

  async update(): Promise<void> {
    const answer = await this.exchange(this.request(Method.POST, `/${this.location.join("/")}`));
    if (answer.code !== ResponseCode.Changed) throw new Error(`Update answered ${answer.code}`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }

  private request(method: number, path: string): CoapMessage {
    const message = createMessage(MessageType.Confirmable, method, this.messageId++, Uint8Array.of(this.messageId & 0xff, 0x42));
    setUriPath(message, path);
    return message;
  }

  private exchange(message: CoapMessage): Promise<CoapMessage> {
    return new Promise((resolve) => {
      this.waiting.set(message.messageId, resolve);
      this.socket.send(encodeMessage(message), this.serverPort, "127.0.0.1");
    });
  }
}
