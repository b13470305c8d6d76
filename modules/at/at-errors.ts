import { HalError, type HalErrorCode } from "../../hal/errors.js";

/** Why one AT command failed. */
export type AtFailure = "timeout" | "error" | "busy" | "queue-full" | "aborted";

const CODE_OF: Readonly<Record<AtFailure, HalErrorCode>> = Object.freeze({
  timeout: "io",
  error: "io",
  busy: "busy",
  "queue-full": "queue-full",
  aborted: "closed",
});

/** A failed AT command: a HalError whose `failure` says how, with the final result line when there was one. */
export class AtError extends HalError {
  readonly failure: AtFailure;
  readonly final: string | undefined;

  constructor(failure: AtFailure, message: string, final?: string) {
    super(CODE_OF[failure], message);
    this.failure = failure;
    this.final = final;
  }
}
