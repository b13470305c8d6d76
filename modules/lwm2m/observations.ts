import type { Time, TimerHandle } from "../../hal/time.js";
import { codeClass, ResponseCode } from "../coap/constants.js";
import type { ServerExchange } from "../coap/endpoint.js";
import type { NotifyOutcome, Observer } from "../coap/observers.js";
import type { OutgoingResponse } from "../coap/response.js";
import type { NotificationAttributes } from "./attributes.js";
import { collect, read } from "./operations/read.js";
import type { DmContext } from "./operations/context.js";
import { pathContains, type LwM2mPath } from "./path.js";

export interface ObservationOptions {
  /** Defaults from the Server object (/1/x/2 and /1/x/3). */
  readonly defaults: () => NotificationAttributes;
  /** Whether a notification of `path` is sent CON (default) or NON. */
  readonly confirmable: (path: LwM2mPath) => boolean;
  /** Told when a notification of `path` ends (report status for Agent Tiny's dataReport). */
  readonly onNotified?: (path: LwM2mPath, outcome: NotifyOutcome, observer: Observer) => void;
  readonly onSubscribed?: (path: LwM2mPath, subscribed: boolean) => void;
  /** Queue mode: false while the client does not talk to the server; notifications are then held. */
  readonly canSend?: () => boolean;
  /** A notification was held back: the client should wake up (send an Update). */
  readonly onHeld?: () => void;
}

/** At most this many pushed values wait per observation while the client sleeps (each is one notification). */
export const MAX_HELD_PUSHES = 4;

interface HeldPush {
  readonly response: OutgoingResponse;
  readonly onOutcome: (outcome: NotifyOutcome) => void;
}

interface Observation {
  /** The observed path (the first one of an Observe-Composite). */
  readonly path: LwM2mPath;
  readonly paths: readonly LwM2mPath[];
  /** Produces the notification content (a Read, or a Read-Composite). */
  readonly render: () => OutgoingResponse;
  readonly observer: Observer;
  readonly context: DmContext;
  lastSentAt: number;
  lastNumber: number | undefined;
  dirty: boolean;
  /** Held back in queue mode; at most one per observation, carrying the state at flush time. */
  held: boolean;
  /** Pushed values held back in queue mode, each rendered when it was pushed. */
  readonly heldPushes: HeldPush[];
  readonly createdAt: number;
  /** Payload of the last notification, to tell a changed sampled value at an epmax evaluation. */
  lastPayload: Uint8Array | undefined;
  lastEvaluatedAt: number;
  /** A change arrived before epmin had passed: evaluationTimer evaluates it later. */
  evaluationDeferred: boolean;
  evaluationTimer: TimerHandle | undefined;
  minTimer: TimerHandle | undefined;
  maxTimer: TimerHandle | undefined;
}

/**
 * Observe and Cancel-Observe on any path (§6.4), with pmin, pmax, gt, lt, st,
 * epmin and epmax: a change is sent no earlier than pmin after the last
 * notification, a notification goes out at pmax even without change, for a
 * numeric resource gt/lt crossings or a step of st decide whether a change
 * counts, changes are evaluated at most every epmin and at least every epmax
 * (which catches values only read hooks know).
 */
export class Observations {
  private readonly time: Time;
  private readonly options: ObservationOptions;
  private readonly active = new Set<Observation>();

  constructor(time: Time, options: ObservationOptions) {
    this.time = time;
    this.options = options;
  }

  get count(): number {
    return this.active.size;
  }

  /** Observers of `path` (or of a path containing it). */
  observersOf(path: LwM2mPath): Observer[] {
    const result: Observer[] = [];
    for (const observation of this.active) if (observation.paths.some((observed) => pathContains(observed, path))) result.push(observation.observer);
    return result;
  }

  /** Handles GET with Observe=0 for `path`: answers like Read and registers the observation. */
  start(exchange: ServerExchange, context: DmContext, path: LwM2mPath): void {
    const accept = exchange.request.accept;
    this.register(exchange, context, [path], () => read(context, path, accept));
  }

  /** Observe-Composite (FETCH with Observe=0 on /): one observation of several paths. */
  startComposite(exchange: ServerExchange, context: DmContext, paths: readonly LwM2mPath[], render: () => OutgoingResponse): void {
    this.register(exchange, context, paths, render);
  }

  private register(exchange: ServerExchange, context: DmContext, paths: readonly LwM2mPath[], render: () => OutgoingResponse): void {
    const response = render();
    if (codeClass(response.code) !== 2) {
      exchange.respond(response);
      return;
    }
    let observation: Observation | undefined;
    const observer = exchange.acceptObserve(() => {
      if (observation) this.stop(observation);
    });
    const path = paths[0]!;
    if (observer) {
      const single = paths.length === 1 ? path : undefined;
      // Every notification keeps the format of the observe response, whatever the data looks like later.
      const pinned = single && exchange.request.accept === undefined && response.contentFormat !== undefined ? () => read(context, single, response.contentFormat) : render;
      const now = this.time.monotonicMs();
      observation = { path, paths, render: pinned, observer, context, lastSentAt: now, lastNumber: single ? numberOf(context, single) : undefined, dirty: false, held: false, heldPushes: [], createdAt: now, lastPayload: response.payload, lastEvaluatedAt: now, evaluationDeferred: false, evaluationTimer: undefined, minTimer: undefined, maxTimer: undefined };
      this.active.add(observation);
      this.armMax(observation);
      this.armEvaluation(observation);
    }
    exchange.respond(response);
    if (observation && this.active.has(observation)) this.options.onSubscribed?.(path, true);
  }

  /** A value at `path` changed: observations that cover it, or lie below it, may notify. */
  valueChanged(path: LwM2mPath): void {
    for (const observation of Array.from(this.active)) if (overlaps(observation, path)) this.changed(observation);
  }

  /**
   * Sends the value now at `path` to each observation that covers it or lies
   * below it, as exactly one notification per observation, ignoring pmin:
   * rendered now in the observation's format, held (in order) while the
   * client sleeps. Returns how many notifications were started; each one's
   * outcome reaches `onOutcome`.
   */
  push(path: LwM2mPath, onOutcome: (outcome: NotifyOutcome) => void): number {
    let started = 0;
    for (const observation of Array.from(this.active)) {
      if (!overlaps(observation, path)) continue;
      const response = observation.render();
      if (codeClass(response.code) !== 2) continue;
      started++;
      if (this.options.canSend && !this.options.canSend()) {
        if (observation.heldPushes.length >= MAX_HELD_PUSHES) {
          this.time.setTimer(0, () => onOutcome("failed"));
          continue;
        }
        observation.heldPushes.push({ response, onOutcome });
        this.options.onHeld?.();
        continue;
      }
      this.transmit(observation, response, true, onOutcome);
    }
    return started;
  }

  /** Ends the observations that began before `since` (a new registration replaced the one they belonged to). */
  stopOlderThan(since: number): void {
    for (const observation of Array.from(this.active)) if (observation.createdAt < since) observation.observer.cancel("cancelled");
  }

  stopAll(): void {
    for (const observation of Array.from(this.active)) observation.observer.cancel("cancelled");
  }

  private attributes(observation: Observation): NotificationAttributes {
    return observation.context.attributes.effective(observation.path, this.options.defaults());
  }

  private changed(observation: Observation): void {
    const attributes = this.attributes(observation);
    // epmin: change conditions are evaluated no more often than this.
    const sinceEvaluation = this.time.monotonicMs() - observation.lastEvaluatedAt;
    if (attributes.epmin && sinceEvaluation < attributes.epmin * 1000) {
      if (!observation.evaluationDeferred) {
        observation.evaluationDeferred = true;
        this.time.clearTimer(observation.evaluationTimer);
        observation.evaluationTimer = this.time.setTimer(attributes.epmin * 1000 - sinceEvaluation, () => {
          observation.evaluationTimer = undefined;
          observation.evaluationDeferred = false;
          if (this.active.has(observation)) this.changed(observation);
        });
      }
      return;
    }
    observation.lastEvaluatedAt = this.time.monotonicMs();
    this.armEvaluation(observation);
    if (!this.passesThresholds(observation, attributes)) return;
    observation.dirty = true;
    this.armMin(observation, attributes);
  }

  /** Sends a pending change once pmin has passed since the last notification (at once if it has). */
  private armMin(observation: Observation, attributes: NotificationAttributes): void {
    this.time.clearTimer(observation.minTimer);
    observation.minTimer = undefined;
    const waitMs = (attributes.pmin ?? 0) * 1000 - (this.time.monotonicMs() - observation.lastSentAt);
    if (waitMs <= 0) {
      this.send(observation);
      return;
    }
    observation.minTimer = this.time.setTimer(waitMs, () => {
      observation.minTimer = undefined;
      if (observation.dirty && this.active.has(observation)) this.send(observation);
    });
  }

  /**
   * Write-Attributes changed the attributes at `path`: every observation at,
   * above or below it applies them at once (Core §5.1.1): pmax and pmin count
   * from the last notification, epmin and epmax from the last evaluation.
   */
  attributesChanged(path: LwM2mPath): void {
    for (const observation of Array.from(this.active)) {
      if (!overlaps(observation, path)) continue;
      const attributes = this.attributes(observation);
      this.armMax(observation);
      if (observation.dirty) this.armMin(observation, attributes);
      if (!this.active.has(observation)) continue;
      if (observation.evaluationDeferred) {
        observation.evaluationDeferred = false;
        this.time.clearTimer(observation.evaluationTimer);
        observation.evaluationTimer = undefined;
        this.changed(observation);
      } else this.armEvaluation(observation);
    }
  }

  private passesThresholds(observation: Observation, attributes: NotificationAttributes): boolean {
    if (attributes.gt === undefined && attributes.lt === undefined && attributes.st === undefined) return true;
    if (observation.paths.length !== 1) return true;
    const current = numberOf(observation.context, observation.path);
    const last = observation.lastNumber;
    if (current === undefined || last === undefined) return true;
    const crossed = (threshold: number | undefined) => threshold !== undefined && (last - threshold) * (current - threshold) < 0;
    if (crossed(attributes.gt) || crossed(attributes.lt)) return true;
    if (attributes.st !== undefined && Math.abs(current - last) >= attributes.st) return true;
    return false;
  }

  /**
   * epmax: values nobody reports as changed (sampled by read hooks) are
   * evaluated at least this often; a new value counts as a change.
   */
  private armEvaluation(observation: Observation): void {
    if (observation.evaluationDeferred) return;
    this.time.clearTimer(observation.evaluationTimer);
    observation.evaluationTimer = undefined;
    const epmax = this.attributes(observation).epmax;
    if (!epmax || epmax <= 0) return;
    const waitMs = Math.max(0, epmax * 1000 - (this.time.monotonicMs() - observation.lastEvaluatedAt));
    observation.evaluationTimer = this.time.setTimer(waitMs, () => {
      observation.evaluationTimer = undefined;
      if (!this.active.has(observation)) return;
      const current = observation.render().payload ?? new Uint8Array(0);
      const last = observation.lastPayload ?? new Uint8Array(0);
      const same = current.length === last.length && current.every((byte, i) => byte === last[i]);
      if (same) {
        observation.lastEvaluatedAt = this.time.monotonicMs();
        this.armEvaluation(observation);
      } else this.changed(observation);
    });
  }

  private armMax(observation: Observation): void {
    this.time.clearTimer(observation.maxTimer);
    observation.maxTimer = undefined;
    const pmax = this.attributes(observation).pmax;
    if (!pmax || pmax <= 0) return;
    const waitMs = Math.max(0, pmax * 1000 - (this.time.monotonicMs() - observation.lastSentAt));
    observation.maxTimer = this.time.setTimer(waitMs, () => {
      observation.maxTimer = undefined;
      if (this.active.has(observation)) this.send(observation);
    });
  }

  /** Sends every notification held back while the client was asleep. */
  flushHeld(): void {
    for (const observation of Array.from(this.active)) {
      for (const held of observation.heldPushes.splice(0)) this.transmit(observation, held.response, true, held.onOutcome);
      if (observation.held) {
        observation.held = false;
        this.send(observation);
      }
    }
  }

  private send(observation: Observation): void {
    if (this.options.canSend && !this.options.canSend()) {
      observation.held = true;
      observation.dirty = false;
      this.time.clearTimer(observation.minTimer);
      observation.minTimer = undefined;
      this.options.onHeld?.();
      return;
    }
    const response: OutgoingResponse = observation.render();
    // Read right revoked under Access Control: no notification while it lasts (Core §7.3.2.5); the observation stays.
    if (response.code === ResponseCode.Unauthorized) {
      observation.dirty = false;
      observation.lastSentAt = this.time.monotonicMs();
      this.time.clearTimer(observation.minTimer);
      observation.minTimer = undefined;
      this.armMax(observation);
      return;
    }
    if (codeClass(response.code) !== 2) {
      // The observed thing is gone (instance deleted): tell the server and end the observation.
      observation.observer.notify(response, { confirmable: true });
      observation.observer.cancel("cancelled");
      return;
    }
    const path = observation.path;
    const observer = observation.observer;
    this.transmit(observation, response, this.options.confirmable(path), (outcome) => this.options.onNotified?.(path, outcome, observer));
  }

  private transmit(observation: Observation, response: OutgoingResponse, confirmable: boolean, onOutcome: (outcome: NotifyOutcome) => void): void {
    observation.lastPayload = response.payload;
    observation.dirty = false;
    observation.lastSentAt = this.time.monotonicMs();
    observation.lastNumber = observation.paths.length === 1 ? numberOf(observation.context, observation.path) : undefined;
    this.time.clearTimer(observation.minTimer);
    observation.minTimer = undefined;
    this.armMax(observation);
    if (!observation.observer.notify(response, { confirmable, onDone: onOutcome })) onOutcome("failed");
  }

  private stop(observation: Observation): void {
    if (!this.active.delete(observation)) return;
    for (const held of observation.heldPushes.splice(0)) held.onOutcome("cancelled");
    this.time.clearTimer(observation.minTimer);
    this.time.clearTimer(observation.maxTimer);
    this.time.clearTimer(observation.evaluationTimer);
    this.options.onSubscribed?.(observation.path, false);
  }
}

function numberOf(context: DmContext, path: LwM2mPath): number | undefined {
  if (path.resourceId === undefined) return undefined;
  const collected = collect(context, path);
  if ("error" in collected || collected.entries.length !== 1) return undefined;
  const value = collected.entries[0]!.value;
  return typeof value === "number" ? value : undefined;
}

function overlaps(observation: Observation, path: LwM2mPath): boolean {
  return observation.paths.some((observed) => pathContains(observed, path) || pathContains(path, observed));
}
