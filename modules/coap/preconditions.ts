/** The conditions of a request (RFC 7252 §5.10.8). */
export interface RequestConditions {
  readonly ifMatch: readonly Uint8Array[];
  readonly ifNoneMatch: boolean;
}

/** What the handler knows of the target resource. */
export interface CurrentRepresentation {
  readonly exists: boolean;
  readonly etag?: Uint8Array | undefined;
}

export function preconditionsHold(_conditions: RequestConditions, _current: CurrentRepresentation): boolean {
  throw new Error("not implemented");
}
