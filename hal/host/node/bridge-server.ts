import { randomFillSync } from "node:crypto";
import { HalError } from "../../errors.js";
import type { Net, TcpConnection, UdpEndpoint } from "../../net.js";
import type { Serial, SerialPort } from "../../serial.js";
import type { BlockDevice, SettingsStore } from "../../storage.js";
import type { Time, TimerHandle } from "../../time.js";
import { decodeFrame, encodeFrame, type Frame } from "../bridge-frame.js";
import { HttpBridge } from "./http-bridge.js";
import { whenBound } from "./node-net.js";
import type { XsWorker } from "./xs-worker.js";

/** What the Node side lends to the firmware in XS. */
export interface HostServices {
  readonly net: Net;
  readonly time: Time;
  readonly settings: SettingsStore;
  readonly blockDevice: BlockDevice;
  /** The TTY the firmware's UART is (FirmwareHostOptions.serialPath); absent: the firmware has no Platform.serial. */
  readonly serial?: Serial;
  /** A finished console line from the firmware. */
  writeLine(line: string): void;
  /** Requests the XS side makes that are not HAL calls (test results, stop acknowledgements). */
  onRequest?(op: string, header: Frame["header"], payload: Uint8Array | undefined): Frame | undefined;
}

type Reply = { header?: object; payload?: Uint8Array };

/**
 * The Node end of the host bridge: answers the firmware's HAL requests with
 * the host services and turns socket and timer activity into events for XS.
 * Events are queued in the worker and delivered in order while XS is idle.
 */
export class BridgeServer {
  private readonly services: HostServices;
  private worker: XsWorker | undefined;
  private readonly timers = new Map<number, TimerHandle>();
  private readonly udp = new Map<number, UdpEndpoint>();
  private readonly tcp = new Map<number, TcpConnection>();
  private serialPort: { id: number; port: SerialPort } | undefined;
  private serialReleased: Promise<void> = Promise.resolve();
  /**
   * Incremented by shutdown(): events of the timers, sockets, lookups and ports opened before
   * it are dropped (a datagram held back by fault injection, say), since a restarted firmware
   * numbers its own from 1 again.
   */
  private generation = 0;
  /** Platform.http: GETs streamed to XS with flow control. */
  private readonly http = new HttpBridge((header, payload) => this.emit(header, payload));
  /** Set when XS throws while handling an event; the runner stops on it. */
  onFatal: (error: Error) => void = (error) => {
    throw error;
  };

  constructor(services: HostServices) {
    this.services = services;
  }

  attach(worker: XsWorker): void {
    this.worker = worker;
  }

  /** The worker's request handler. */
  readonly handle = async (request: Uint8Array): Promise<Uint8Array> => {
    let frame: Frame;
    try {
      frame = decodeFrame(request);
    } catch (error) {
      return new Uint8Array(encodeFrame({ error: { code: "invalid-argument", message: `bad bridge frame: ${String(error)}` } }));
    }
    const op = String(frame.header["op"]);
    try {
      const reply = await this.perform(op, frame);
      return new Uint8Array(encodeFrame(reply.header ?? {}, reply.payload));
    } catch (error) {
      const code = error instanceof HalError ? error.code : "io";
      const message = error instanceof HalError ? error.message.replace(/^[a-z-]+: /, "") : String(error);
      return new Uint8Array(encodeFrame({ error: { code, message } }));
    }
  };

  /** Sends an event to the firmware. */
  emit(header: object, payload?: Uint8Array): void {
    const worker = this.worker;
    if (!worker || !worker.running) return;
    worker.deliver(new Uint8Array(encodeFrame(header, payload))).catch((error: Error) => {
      if (worker.running) this.onFatal(error);
    });
  }

  /** emit() for the firmware running now: a no-op once shutdown() has run. */
  private emitter(): (header: object, payload?: Uint8Array) => void {
    const generation = this.generation;
    return (header, payload) => {
      if (generation === this.generation) this.emit(header, payload);
    };
  }

  /** Releases every socket and timer the firmware left open. */
  shutdown(): void {
    this.generation++;
    for (const handle of this.timers.values()) this.services.time.clearTimer(handle);
    this.timers.clear();
    for (const endpoint of this.udp.values()) endpoint.close();
    this.udp.clear();
    for (const connection of this.tcp.values()) connection.close();
    this.tcp.clear();
    this.http.shutdown();
    if (this.serialPort) this.closeSerial(this.serialPort.port);
  }

  /** Resolves once the serial port the firmware had open has released its TTY (NodeSerial's descriptor). */
  whenSerialReleased(): Promise<void> {
    return this.serialReleased;
  }

  private async perform(op: string, frame: Frame): Promise<Reply> {
    const h = frame.header;
    const s = this.services;
    const emit = this.emitter();
    switch (op) {
      case "log":
        s.writeLine(String(h["line"]));
        return {};
      case "now":
        return { header: { ms: s.time.monotonicMs() } };
      case "wall-clock":
        return { header: { ms: s.time.wallClockMs() } };
      case "set-wall-clock":
        s.time.setWallClockMs(h["ms"] as number);
        return {};
      case "timer-set": {
        const id = h["id"] as number;
        this.timers.set(id, s.time.setTimer(h["delayMs"] as number, () => {
          this.timers.delete(id);
          emit({ ev: "timer", id });
        }));
        return {};
      }
      case "timer-clear": {
        const id = h["id"] as number;
        s.time.clearTimer(this.timers.get(id));
        this.timers.delete(id);
        return {};
      }
      case "random": {
        const length = h["length"] as number;
        if (!(length >= 0 && length <= 65536)) throw new HalError("invalid-argument", `random length ${length}`);
        return { payload: randomFillSync(new Uint8Array(length)) };
      }
      case "platform-info":
        return { header: { blockDeviceBytes: s.blockDevice.byteLength, sectorSize: s.blockDevice.sectorSize, serial: s.serial !== undefined } };
      case "net-info":
        return { header: { maxDatagramSize: s.net.maxDatagramSize } };
      case "udp-open":
        return this.openUdp(h["id"] as number, h["localPort"] as number);
      case "udp-send":
        this.requireUdp(h["id"] as number).send(frame.payload ?? new Uint8Array(0), { address: h["address"] as string, port: h["port"] as number });
        return {};
      case "udp-close":
        this.udp.get(h["id"] as number)?.close();
        this.udp.delete(h["id"] as number);
        return {};
      case "tcp-connect":
        this.connectTcp(h["id"] as number, h["host"] as string, h["port"] as number);
        return {};
      case "tcp-send": {
        const connection = this.tcp.get(h["id"] as number);
        if (!connection) throw new HalError("closed", "send on a closed TCP connection");
        connection.send(frame.payload ?? new Uint8Array(0));
        return {};
      }
      case "tcp-close":
        this.tcp.get(h["id"] as number)?.close();
        this.tcp.delete(h["id"] as number);
        return {};
      case "resolve": {
        const id = h["id"] as number;
        s.net.resolve(h["host"] as string, (error, address) => {
          emit(error ? { ev: "resolved", id, code: error.code, message: error.message } : { ev: "resolved", id, address });
        });
        return {};
      }
      case "serial-open":
        this.openSerial(h["id"] as number, h["baud"] as number);
        return {};
      case "serial-write": {
        const open = this.serialPort;
        if (!open || open.id !== h["id"]) throw new HalError("closed", "write on a closed serial port");
        open.port.write(frame.payload ?? new Uint8Array(0));
        return {};
      }
      case "serial-close": {
        const open = this.serialPort;
        if (open && open.id === h["id"]) this.closeSerial(open.port);
        return {};
      }
      case "http-get":
      case "http-ack":
      case "http-cancel":
        this.http.perform(op, h);
        return {};
      case "settings-get": {
        const value = s.settings.get(h["key"] as string);
        if (value instanceof Uint8Array) return { header: { bytes: true }, payload: value };
        return { header: { value } };
      }
      case "settings-set":
        s.settings.set(h["key"] as string, h["bytes"] ? (frame.payload ?? new Uint8Array(0)) : (h["value"] as string | number | boolean));
        return {};
      case "settings-delete":
        s.settings.delete(h["key"] as string);
        return {};
      case "settings-keys":
        return { header: { keys: s.settings.keys() } };
      case "block-read":
        return { payload: s.blockDevice.read(h["offset"] as number, h["length"] as number) };
      case "block-write":
        s.blockDevice.write(h["offset"] as number, frame.payload ?? new Uint8Array(0));
        return {};
      case "block-erase":
        s.blockDevice.eraseSector(h["sector"] as number);
        return {};
      default: {
        const reply = s.onRequest?.(op, h, frame.payload);
        if (!reply) throw new HalError("invalid-argument", `unknown host request "${op}"`);
        return reply;
      }
    }
  }

  private async openUdp(id: number, localPort: number): Promise<Reply> {
    const net = this.services.net;
    const emit = this.emitter();
    const options = {
      localPort,
      onDatagram: (data: Uint8Array, from: { address: string; port: number }) => emit({ ev: "udp", id, address: from.address, port: from.port }, data),
      onError: (error: HalError) => emit({ ev: "socket-error", id, code: error.code, message: error.message }),
    };
    const endpoint = await whenBound(net.openUdp(options));
    this.udp.set(id, endpoint);
    return { header: { localPort: endpoint.localPort } };
  }

  private closeSerial(port: SerialPort): void {
    port.close();
    this.serialPort = undefined;
    const released = (port as { whenClosed?: Promise<void> }).whenClosed;
    if (released) this.serialReleased = released;
  }

  private openSerial(id: number, baud: number): void {
    const serial = this.services.serial;
    if (!serial) throw new HalError("not-found", "the host has no serial port configured (serialPath)");
    if (this.serialPort && !this.serialPort.port.closed) throw new HalError("busy", "the serial port is already open");
    const emit = this.emitter();
    const port = serial.open({
      baud,
      onReceive: (data) => emit({ ev: "serial-data", id }, data),
      onError: (error) => {
        if (this.serialPort?.id === id) this.serialPort = undefined;
        emit({ ev: "serial-error", id, code: error.code, message: error.message.replace(/^[a-z-]+: /, "") });
      },
    });
    this.serialPort = { id, port };
  }

  private connectTcp(id: number, host: string, port: number): void {
    const emit = this.emitter();
    const connection = this.services.net.connectTcp({
      host,
      port,
      onConnect: () => emit({ ev: "tcp-connect", id }),
      onData: (data) => emit({ ev: "tcp-data", id }, data),
      onClose: (error) => {
        this.tcp.delete(id);
        emit(error ? { ev: "tcp-close", id, code: error.code, message: error.message } : { ev: "tcp-close", id });
      },
    });
    this.tcp.set(id, connection);
  }

  private requireUdp(id: number): UdpEndpoint {
    const endpoint = this.udp.get(id);
    if (!endpoint) throw new HalError("closed", "send on a closed UDP endpoint");
    return endpoint;
  }
}
