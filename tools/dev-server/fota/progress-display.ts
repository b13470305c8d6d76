import type { FotaEvent } from "./events.js";

type ProgressEvent = Extract<FotaEvent, { type: "fota-progress" }>;

/** Progress lines followed at once. */
const MAX_FOLLOWED = 64;
const BAR_WIDTH = 30;

/**
 * The console's view of firmware transfers. On a terminal one line per
 * transfer is redrawn in place (\r) as progress events come; elsewhere (a
 * pipe, a log file) a line is printed at each further 10 %. Other lines go
 * through line(), which first ends a progress line left open.
 */
export class ProgressDisplay {
  private readonly out: { write(text: string): unknown; readonly isTTY?: boolean };
  private open = false;
  private readonly printedTenths = new Map<string, number>();

  constructor(out: { write(text: string): unknown; readonly isTTY?: boolean }) {
    this.out = out;
  }

  progress(event: ProgressEvent): void {
    const percent = event.total ? Math.min(100, Math.floor((100 * event.bytes) / event.total)) : 100;
    const label = `[server] fota ${event.endpoint} ${event.image} (${event.transport})`;
    if (this.out.isTTY) {
      const filled = Math.round((percent / 100) * BAR_WIDTH);
      this.out.write(`\r${label} [${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}] ${String(percent).padStart(3)}% ${event.bytes}/${event.total} B`);
      this.open = percent < 100;
      if (!this.open) this.out.write("\n");
      return;
    }
    const key = `${event.endpoint} ${event.image} ${event.transport}`;
    const tenths = Math.floor(percent / 10);
    const printed = this.printedTenths.get(key);
    // A transfer that went back (started again) prints again from there.
    if (printed !== undefined && tenths <= printed && !(tenths < printed && percent < 10)) return;
    this.printedTenths.delete(key);
    if (this.printedTenths.size >= MAX_FOLLOWED) this.printedTenths.delete(this.printedTenths.keys().next().value!);
    this.printedTenths.set(key, tenths);
    this.out.write(`${label}: ${percent}% (${event.bytes}/${event.total} B)\n`);
  }

  line(text: string): void {
    if (this.open) {
      this.out.write("\n");
      this.open = false;
    }
    this.out.write(`${text}\n`);
  }
}
