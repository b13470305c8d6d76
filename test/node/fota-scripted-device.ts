import type { Platform } from "../../hal/platform.js";
import { NodeHttpClient } from "../../hal/host/node/node-http.js";
import { download } from "../../modules/coap/blockwise-client.js";
import { ContentFormat, Method, ResponseCode } from "../../modules/coap/constants.js";
import { CoapEndpoint, type ServerExchange } from "../../modules/coap/endpoint.js";
import { utf8Decode, utf8Encode, type Peer } from "../../modules/coap/message.js";
import type { Observer } from "../../modules/coap/observers.js";
import { UdpTransport } from "../../modules/coap/transport.js";

export interface DeviceScript {
  readonly endpointName: string;
  /** The package the device expects: a download or push of other bytes ends with Update Result 5. */
  readonly expected: Uint8Array;
  readonly version: string;
  readonly newVersion: string;
  /** Update Result after the reboot (default 1, success). */
  readonly resultAfterReboot?: number;
  /** Report this Update Result instead of Downloaded once the download ends. */
  readonly downloadFailure?: number;
}

/**
 * A hand-made LwM2M device for the FOTA job tests, on our CoAP endpoint: it
 * registers, answers reads of /3/0/3, /5/0/3 and /5/0/5 (observable), takes
 * a Package URI (downloads it itself: CoAP Block2 or HTTP) or a package by
 * Block1, executes Update by "rebooting": the endpoint closes without
 * deregistering and a new one registers from another port with the new
 * version and the Update Result.
 */
export class ScriptedDevice {
  readonly log: string[] = [];
  state = 0;
  result = 0;
  version: string;
  received: Uint8Array | undefined;
  registrations = 0;
  private endpoint: CoapEndpoint;
  private readonly observers = new Map<string, Observer>();
  private readonly platform: Platform;
  private readonly script: DeviceScript;
  private readonly server: Peer;
  private readonly http = new NodeHttpClient();

  constructor(platform: Platform, server: Peer, script: DeviceScript) {
    this.platform = platform;
    this.script = script;
    this.server = server;
    this.version = script.version;
    this.endpoint = this.open();
  }

  async register(): Promise<void> {
    while (this.endpoint.localPort === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    const payload = utf8Encode('</>;rt="oma.lwm2m",</1/0>,</3/0>,</5/0>');
    const query = [`ep=${this.script.endpointName}`, "lt=300", "lwm2m=1.1", "b=U"];
    const response = await this.endpoint.requestAsync({ peer: this.server, method: Method.POST, path: "/rd", query, contentFormat: ContentFormat.LinkFormat, payload });
    if (response.code !== ResponseCode.Created) throw new Error(`registration refused: ${response.code} ${utf8Decode(response.payload)}`);
    this.registrations++;
  }

  close(): void {
    this.endpoint.close();
    this.http.closeAll();
  }

  private open(): CoapEndpoint {
    const endpoint = new CoapEndpoint({
      transport: new UdpTransport(this.platform.net),
      time: this.platform.time,
      random: this.platform.random,
      parameters: { maxReassemblyBytes: 4 * 1024 * 1024 },
    });
    endpoint.setHandler((exchange) => this.handle(exchange));
    return endpoint;
  }

  private set(path: "/5/0/3" | "/5/0/5", value: number): void {
    if (path === "/5/0/3") this.state = value;
    else this.result = value;
    this.log.push(`${path}=${value}`);
    this.observers.get(path)?.notify({ code: ResponseCode.Content, contentFormat: ContentFormat.TextPlain, payload: utf8Encode(String(value)) });
  }

  private handle(exchange: ServerExchange): void {
    const { method, path, payload } = exchange.request;
    const target = `/${path.join("/")}`;
    const text = (value: string | number) => exchange.respond({ code: ResponseCode.Content, contentFormat: ContentFormat.TextPlain, payload: utf8Encode(String(value)) });
    if (method === Method.GET && target === "/3/0/3") return text(this.version);
    if (method === Method.GET && (target === "/5/0/3" || target === "/5/0/5")) {
      if (exchange.request.observe === 0) {
        const observer = exchange.acceptObserve();
        if (observer) this.observers.set(target, observer);
      }
      return text(target === "/5/0/3" ? this.state : this.result);
    }
    if (method === Method.PUT && target === "/5/0/1") {
      exchange.respond({ code: ResponseCode.Changed });
      this.log.push(`uri ${utf8Decode(payload)}`);
      this.fetch(utf8Decode(payload));
      return;
    }
    if (method === Method.PUT && target === "/5/0/0") {
      this.log.push(`package ${payload.length} B`);
      exchange.respond({ code: ResponseCode.Changed });
      this.set("/5/0/5", 0);
      this.set("/5/0/3", 1);
      this.downloaded(payload.slice());
      return;
    }
    if (method === Method.POST && target === "/5/0/2") {
      if (this.state !== 2) return exchange.respond({ code: ResponseCode.MethodNotAllowed });
      exchange.respond({ code: ResponseCode.Changed });
      this.set("/5/0/3", 3);
      this.platform.time.setTimer(20, () => void this.reboot());
      return;
    }
    exchange.respond({ code: ResponseCode.NotFound });
  }

  private fetch(uri: string): void {
    this.set("/5/0/5", 0);
    this.set("/5/0/3", 1);
    const chunks: Uint8Array[] = [];
    const finished = () => this.downloaded(Uint8Array.from(Buffer.concat(chunks)));
    const failed = (why: string) => {
      this.log.push(`download failed: ${why}`);
      this.set("/5/0/5", 4);
      this.set("/5/0/3", 0);
    };
    const coap = /^coap:\/\/([0-9.]+):([0-9]+)(\/.*)$/.exec(uri);
    if (coap) {
      download(this.endpoint, { peer: { address: coap[1]!, port: Number(coap[2]) }, path: coap[3]!, onBlock: (_offset, data) => void chunks.push(data.slice()) }, (error) => (error ? failed(error.message) : finished()));
      return;
    }
    this.http.get({
      url: uri,
      onResponse: (status) => (status === 200 ? undefined : false),
      onData: (data) => void chunks.push(data),
      onEnd: (error) => (error ? failed(error.message) : finished()),
    });
  }

  private downloaded(bytes: Uint8Array): void {
    this.received = bytes;
    const same = bytes.length === this.script.expected.length && Buffer.compare(bytes, this.script.expected) === 0;
    const failure = this.script.downloadFailure ?? (same ? undefined : 5);
    if (failure !== undefined) {
      this.set("/5/0/5", failure);
      this.set("/5/0/3", 0);
      return;
    }
    this.set("/5/0/3", 2);
  }

  /** Power goes: no deregistration, the observations are forgotten; the new firmware registers from a new port. */
  private async reboot(): Promise<void> {
    this.log.push("reboot");
    this.endpoint.close();
    this.observers.clear();
    const result = this.script.resultAfterReboot ?? 1;
    this.state = 0;
    this.result = result;
    if (result === 1) this.version = this.script.newVersion;
    this.endpoint = this.open();
    await this.register();
  }
}
