// Runs the benchmark workloads inside XS and reports them to bench/run.ts.
import { encodeFrame } from "../hal/host/bridge-frame.js";
import { measureAll } from "./workloads.js";

const results = measureAll(() => performance.now(), 300);
issueCommand(encodeFrame({ op: "bench-results", results }));
