// The SDK's "instrumentation" module, for our tsconfig.json (hal/moddable/memory-use.ts);
// mcconfig builds read the same typings from the SDK (manifest_typings.json).
/// <reference path="../../../../node_modules/@moddable/typings/instrumentation.d.ts" />
