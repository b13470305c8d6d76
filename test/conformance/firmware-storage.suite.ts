import { crc32 } from "../../hal/common/crc32.js";
import { FlashFirmwareStorage } from "../../hal/common/flash-firmware-storage.js";
import { MemoryBlockDevice } from "../../hal/common/memory-block-device.js";
import { isHalError } from "../../hal/errors.js";
import { PowerLossBlockDevice } from "../../hal/host/faults/power-loss-block-device.js";
import { SeededRandom } from "../../hal/host/faults/seeded-random.js";
import { assert, suite } from "./harness.js";

const SECTOR = 256;

function image(length: number, seed: number): Uint8Array {
  const random = new SeededRandom(seed);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = random.nextUint32() & 0xff;
  return bytes;
}

function download(storage: FlashFirmwareStorage, bytes: Uint8Array, chunk = 100): void {
  storage.beginDownload(bytes.length);
  for (let offset = 0; offset < bytes.length; offset += chunk) storage.write(offset, bytes.subarray(offset, offset + chunk));
  storage.endDownload("success", bytes.length);
}

export default suite("firmware storage", (test) => {
  test("CRC-32 check value", () => {
    const text = "123456789";
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    assert.equal(crc32(bytes), 0xcbf43926);
    assert.equal(crc32(bytes.subarray(4), crc32(bytes.subarray(0, 4))), 0xcbf43926, "chunked");
  });

  test("download, activate, and report success after the reboot", () => {
    const device = new MemoryBlockDevice(SECTOR * 12, SECTOR);
    const storage = new FlashFirmwareStorage(device);
    storage.init();
    assert.equal(storage.capacity, SECTOR * 10);
    const bytes = image(2000, 7);
    download(storage, bytes);
    assert.equal(storage.read(0, bytes.length), bytes);
    storage.activate();
    const afterReboot = new FlashFirmwareStorage(device);
    afterReboot.init();
    assert.equal(afterReboot.getActivateResult(), "success");
    assert.equal(afterReboot.getActivateResult(), "success", "the result stays until the next download");
    afterReboot.beginDownload(10);
    assert.equal(afterReboot.getActivateResult(), "none", "a new download clears it");
  });

  test("a corrupted image fails activation", () => {
    const device = new MemoryBlockDevice(SECTOR * 12, SECTOR);
    const storage = new FlashFirmwareStorage(device);
    storage.init();
    download(storage, image(1000, 3));
    storage.activate();
    device.write(2 * SECTOR + 10, new Uint8Array([0])); // a bit flip in the image area
    const afterReboot = new FlashFirmwareStorage(device);
    afterReboot.init();
    assert.equal(afterReboot.getActivateResult(), "failure");
  });

  test("rejects misuse with clear errors", () => {
    const storage = new FlashFirmwareStorage(new MemoryBlockDevice(SECTOR * 4, SECTOR));
    assert.throws(() => storage.beginDownload(10), "before init");
    storage.init();
    assert.throws(() => storage.write(0, new Uint8Array(1)), "before beginDownload");
    assert.throws(() => storage.beginDownload(SECTOR * 3), "too-large");
    storage.beginDownload(10);
    assert.throws(() => storage.write(SECTOR * 2 - 1, new Uint8Array(2)), "out-of-range");
    assert.throws(() => storage.activate(), "completely downloaded");
    assert.throws(() => storage.writeUpdateInfo(new Uint8Array(SECTOR)), "too-large");
  });

  test("a failed download leaves nothing to activate", () => {
    const storage = new FlashFirmwareStorage(new MemoryBlockDevice(SECTOR * 8, SECTOR));
    storage.init();
    storage.beginDownload(300);
    storage.write(0, image(100, 1));
    storage.endDownload("failure", 100);
    assert.throws(() => storage.activate(), "completely downloaded");
  });

  test("update info survives a reboot", () => {
    const device = new MemoryBlockDevice(SECTOR * 8, SECTOR);
    const storage = new FlashFirmwareStorage(device);
    storage.init();
    assert.equal(storage.readUpdateInfo(), undefined);
    storage.writeUpdateInfo(new Uint8Array([1, 2, 3]));
    storage.writeUpdateInfo(new Uint8Array([4, 5]));
    const again = new FlashFirmwareStorage(device);
    again.init();
    assert.equal(again.readUpdateInfo(), new Uint8Array([4, 5]));
  });

  test("power loss at every write of an update-info change leaves the old or the new record", () => {
    const oldInfo = new Uint8Array([0xa1, 0xa2, 0xa3, 0xa4]);
    const newInfo = new Uint8Array([0xb1, 0xb2, 0xb3, 0xb4, 0xb5]);
    let sawOld = 0;
    let sawNew = 0;
    for (let cut = 1; cut <= 2; cut++) {
      for (let seed = 1; seed <= 20; seed++) {
        const medium = new MemoryBlockDevice(SECTOR * 8, SECTOR);
        const setup = new FlashFirmwareStorage(medium);
        setup.init();
        setup.writeUpdateInfo(oldInfo);
        const flaky = new PowerLossBlockDevice(medium, { cutAtOperation: cut, seed });
        const storage = new FlashFirmwareStorage(flaky);
        storage.init();
        let lost = false;
        try {
          storage.writeUpdateInfo(newInfo);
        } catch (error) {
          lost = isHalError(error, "power-loss");
          if (!lost) throw error;
        }
        assert.ok(lost, `power fails at operation ${cut}`);
        const rebooted = new FlashFirmwareStorage(medium);
        rebooted.init();
        const info = rebooted.readUpdateInfo();
        const isOld = info !== undefined && info.length === oldInfo.length && info.every((b, i) => b === oldInfo[i]);
        const isNew = info !== undefined && info.length === newInfo.length && info.every((b, i) => b === newInfo[i]);
        assert.ok(isOld || isNew, `cut ${cut} seed ${seed}: record is neither old nor new`);
        if (isOld) sawOld++;
        else sawNew++;
      }
    }
    assert.ok(sawOld > 0, "some cuts keep the old record");
  });

  test("power loss during an image write is caught by the image check", () => {
    const medium = new MemoryBlockDevice(SECTOR * 12, SECTOR);
    const first = new FlashFirmwareStorage(medium);
    first.init();
    const bytes = image(1500, 11);
    const flaky = new PowerLossBlockDevice(medium, { cutAtOperation: 9, seed: 5 });
    const storage = new FlashFirmwareStorage(flaky);
    storage.init();
    assert.throws(() => download(storage, bytes), "power-loss");
    assert.ok(flaky.tornBytes >= 0, "the cut happened mid-operation");
    assert.throws(() => storage.read(0, 1), "power-loss");
    const rebooted = new FlashFirmwareStorage(medium);
    rebooted.init();
    assert.throws(() => rebooted.activate(), "completely downloaded");
    download(rebooted, bytes);
    rebooted.activate();
    const booted = new FlashFirmwareStorage(medium);
    booted.init();
    assert.equal(booted.getActivateResult(), "success");
  });

  test("a download resumed after power loss at any operation ends with the whole image", () => {
    const bytes = image(SECTOR * 5 + 77, 21);
    const chunk = 64;
    for (let cut = 1; cut <= 30; cut++) {
      const medium = new MemoryBlockDevice(SECTOR * 12, SECTOR);
      const setup = new FlashFirmwareStorage(medium);
      setup.init();
      setup.beginDownload(bytes.length);
      const flaky = new PowerLossBlockDevice(medium, { cutAtOperation: cut, seed: cut });
      const storage = new FlashFirmwareStorage(flaky);
      storage.init();
      storage.resumeDownload(0);
      // The offset a downloader would have persisted: the last whole sector written before the cut.
      let persisted = 0;
      try {
        for (let offset = 0; offset < bytes.length; offset += chunk) {
          storage.write(offset, bytes.subarray(offset, offset + chunk));
          if ((offset + chunk) % SECTOR === 0) persisted = offset + chunk;
        }
      } catch (error) {
        if (!isHalError(error, "power-loss")) throw error;
      }
      const rebooted = new FlashFirmwareStorage(medium);
      rebooted.init();
      rebooted.resumeDownload(persisted);
      for (let offset = persisted; offset < bytes.length; offset += chunk) rebooted.write(offset, bytes.subarray(offset, offset + chunk));
      rebooted.endDownload("success", bytes.length);
      assert.equal(rebooted.read(0, bytes.length), bytes, `cut at operation ${cut}, resumed at ${persisted}`);
    }
  });

  test("sectors are erased as writes reach them", () => {
    const medium = new MemoryBlockDevice(SECTOR * 12, SECTOR);
    const counting = new PowerLossBlockDevice(medium, { cutAtOperation: 0 });
    const storage = new FlashFirmwareStorage(counting);
    storage.init();
    const before = counting.operationCount;
    storage.beginDownload(SECTOR * 8);
    assert.equal(counting.operationCount, before, "beginDownload erases nothing yet");
    storage.write(0, image(10, 1));
    assert.equal(counting.operationCount, before + 2, "one erase, one write");
    assert.throws(() => storage.resumeDownload(SECTOR * 20), "out-of-range");
  });

  test("defect: power lost after the image was recorded as downloaded but before the caller recorded it: resumeDownload continues instead of refusing", () => {
    const medium = new MemoryBlockDevice(SECTOR * 12, SECTOR);
    const storage = new FlashFirmwareStorage(medium);
    storage.init();
    const bytes = image(SECTOR * 3, 31);
    download(storage, bytes);
    // Power goes before the updater's own record says "downloaded": after the reboot it resumes at the end.
    const rebooted = new FlashFirmwareStorage(medium);
    rebooted.init();
    rebooted.resumeDownload(bytes.length);
    rebooted.endDownload("success", bytes.length);
    assert.equal(rebooted.read(0, bytes.length), bytes);
    rebooted.activate();
    const booted = new FlashFirmwareStorage(medium);
    booted.init();
    assert.equal(booted.getActivateResult(), "success");
  });
});
