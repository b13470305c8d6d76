// ECMA-419 storage as the Moddable SDK's own typings (typings/embedded/storage)
// declare it; @moddable/typings on npm lacks these. Only our tsconfig.json reads
// this file: mcconfig builds use the SDK's typings.
declare module "embedded:storage/flash" {
  interface FlashPartition {
    read(byteLength: number, byteOffset: number): ArrayBuffer;
    write(buffer: ArrayBuffer | ArrayBufferView, byteOffset: number): void;
    eraseBlock(start: number, end?: number): void;
    status(): { size: number; blockLength: number; blocks: number };
    close(): void;
  }
  const flash: { open(options: { path: string; mode?: "r" | "r+" }): FlashPartition };
  export default flash;
}

declare module "embedded:storage/key-value" {
  interface KeyValueDomain {
    read(key: string): ArrayBuffer | undefined;
    write(key: string, value: ArrayBuffer | ArrayBufferView): void;
    delete(key: string): void;
    [Symbol.iterator](): Iterator<string>;
    close(): void;
  }
  const storage: { open(options: { path: string; mode?: "r" | "r+"; format?: "buffer" }): KeyValueDomain };
  export default storage;
}
