import type { Time } from "../../hal/time.js";

export class RepeatedWarning {
  private readonly write: (line: string) => void;
  constructor(_time: Time, write: (line: string) => void, _intervalMs: number) {
    this.write = write;
  }
  report(line: string): void {
    this.write(line);
  }
  close(): void {}
}
