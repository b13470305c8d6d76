import type { ModemLink } from "./modem-link.js";

/** The links of one module: by the id the module knows them by, and every link not yet closed. */
export class LinkTable {
  private readonly maxLinks: number;
  private readonly byId = new Map<number, ModemLink>();
  private readonly open = new Set<ModemLink>();

  constructor(maxLinks: number) {
    this.maxLinks = maxLinks;
  }

  get(id: number): ModemLink | undefined {
    return this.byId.get(id);
  }

  /** Ids the module holds (or is opening). */
  ids(): number[] {
    return [...this.byId.keys()];
  }

  links(): ModemLink[] {
    return [...this.open];
  }

  /** The lowest free id, now taken by `link`; undefined when all are taken. */
  reserve(link: ModemLink): number | undefined {
    for (let id = 0; id < this.maxLinks; id++) {
      if (!this.byId.has(id)) {
        this.byId.set(id, link);
        this.open.add(link);
        return id;
      }
    }
    return undefined;
  }

  rebind(link: ModemLink, from: number, to: number): void {
    if (this.byId.get(from) === link) this.byId.delete(from);
    this.byId.set(to, link);
  }

  release(link: ModemLink, id: number): void {
    if (this.byId.get(id) === link) this.byId.delete(id);
  }

  /** The id is gone at the module (link dropped). */
  drop(id: number): void {
    this.byId.delete(id);
  }

  /** A link with data waiting for the module to come up: it is opened when the module is ready. */
  track(link: ModemLink): void {
    this.open.add(link);
  }

  forget(link: ModemLink): void {
    this.open.delete(link);
  }

  /** The module lost every link; the link objects stay, to be reopened. */
  clearIds(): void {
    this.byId.clear();
  }

  clear(): void {
    this.byId.clear();
    this.open.clear();
  }
}
