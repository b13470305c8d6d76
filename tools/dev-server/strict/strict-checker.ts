/**
 * The development server's conformance checker: every datagram from a client
 * is checked against RFC 7252, RFC 7641, RFC 6690 and the LwM2M TS; every
 * violation is counted, kept (the last MAX_KEPT_VIOLATIONS) and logged with
 * the rule it breaks. The server asks it about Register, Update,
 * De-register and Bootstrap-Request, which in strict mode it refuses with
 * 4.00 when they break a rule.
 */
import type { Logger } from "../../../hal/log.js";
import type { Time } from "../../../hal/time.js";
import { decodeMessage } from "../../../modules/coap/codec.js";
import type { Peer } from "../../../modules/coap/message.js";
import { exchangeLifetimeMs, type CoapParameters } from "../../../modules/coap/params.js";
import type { CoapTransport } from "../../../modules/coap/transport.js";
import { checkBootstrapRequest } from "./bootstrap-rules.js";
import { CheckingTransport } from "./checking-transport.js";
import { checkDatagram } from "./coap-syntax-rules.js";
import { ExchangeTracker } from "./exchange-tracker.js";
import { checkDeregister, checkRegister, checkUpdate, type RegistrationRequest } from "./registration-rules.js";
import { describeViolation, ViolationLog, type Problem, type Violation, type ViolationReport } from "./violations.js";

export interface StrictCheckerOptions {
  /** Refuse Register/Update/De-register that break a rule (strict), or only count and log them (lenient). */
  readonly strict: boolean;
  readonly time: Time;
  readonly log: Logger;
  /** The server's CoAP parameters (EXCHANGE_LIFETIME bounds MID reuse). */
  readonly parameters: CoapParameters;
  /** The registered endpoint name at an address, for messages. */
  readonly endpointOf: (peer: Peer) => string | undefined;
  readonly onViolation?: (violation: Violation) => void;
}

/** Longest diagnostic payload of a refusal, in characters. */
const MAX_DIAGNOSTIC = 400;

export class StrictChecker {
  readonly strict: boolean;
  private readonly violations: ViolationLog;
  private readonly exchangeLifetimeMs: number;
  private readonly time: Time;
  private readonly log: Logger;
  private readonly endpointOf: (peer: Peer) => string | undefined;

  constructor(options: StrictCheckerOptions) {
    this.strict = options.strict;
    this.time = options.time;
    this.log = options.log;
    this.endpointOf = options.endpointOf;
    this.exchangeLifetimeMs = exchangeLifetimeMs(options.parameters);
    this.violations = new ViolationLog((violation) => {
      this.log.warn(describeViolation(violation));
      options.onViolation?.(violation);
    });
  }

  /**
   * The transport a CoAP endpoint of the server should use: `transport`, with
   * every datagram checked. Each wrapped transport (the LwM2M port, the
   * bootstrap port) tracks its own exchanges, as each endpoint numbers its
   * own messages; the violations go to one list.
   */
  wrap(transport: CoapTransport): CoapTransport {
    const tracker = new ExchangeTracker(this.exchangeLifetimeMs, this.time);
    return new CheckingTransport(
      transport,
      (data, peer) => this.guard(() => this.incoming(tracker, data, peer)),
      (data, peer) => this.guard(() => this.outgoing(tracker, data, peer)),
    );
  }

  report(): ViolationReport {
    return this.violations.report();
  }

  get count(): number {
    return this.violations.count;
  }

  /** Checks a Register request; returns the problems (already recorded). */
  checkRegister(request: RegistrationRequest, peer: Peer, endpoint: string | undefined): Problem[] {
    return this.recordAll(checkRegister(request), peer, endpoint);
  }

  checkUpdate(request: RegistrationRequest, peer: Peer, endpoint: string, version: string): Problem[] {
    return this.recordAll(checkUpdate(request, version), peer, endpoint);
  }

  checkDeregister(request: RegistrationRequest, peer: Peer, endpoint: string): Problem[] {
    return this.recordAll(checkDeregister(request), peer, endpoint);
  }

  /** Checks a Bootstrap-Request (POST /bs); returns the problems (already recorded). */
  checkBootstrapRequest(request: RegistrationRequest, peer: Peer, endpoint: string | undefined): Problem[] {
    return this.recordAll(checkBootstrapRequest(request), peer, endpoint);
  }

  /** Whether the server refuses a request with these problems (strict mode only). */
  refuses(problems: readonly Problem[]): boolean {
    return this.strict && problems.length > 0;
  }

  /** The diagnostic payload of a 4.00 refusal: the rules broken. */
  static diagnostic(problems: readonly Problem[]): string {
    const text = problems.map((problem) => `${problem.rule}: ${problem.message}`).join("; ");
    return text.length > MAX_DIAGNOSTIC ? `${text.slice(0, MAX_DIAGNOSTIC - 1)}…` : text;
  }

  private incoming(tracker: ExchangeTracker, data: Uint8Array, peer: Peer): void {
    const syntax = checkDatagram(data);
    const problems = [...syntax.problems];
    if (syntax.message) problems.push(...tracker.inbound(syntax.message, data, peer));
    this.recordAll(problems, peer, this.endpointOf(peer));
  }

  private outgoing(tracker: ExchangeTracker, data: Uint8Array, peer: Peer): void {
    const decoded = decodeMessage(data);
    if (decoded.ok) tracker.outbound(decoded.message, peer);
  }

  private recordAll(problems: Problem[], peer: Peer, endpoint: string | undefined): Problem[] {
    for (const problem of problems) this.violations.record(problem, peer, endpoint, this.time.wallClockMs());
    return problems;
  }

  /** A fault in the checker must never disturb the server's traffic. */
  private guard(check: () => void): void {
    try {
      check();
    } catch (error) {
      this.log.error(`[strict] checker fault: ${(error as Error).stack ?? String(error)}`);
    }
  }
}
