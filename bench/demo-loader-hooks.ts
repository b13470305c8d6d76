// Node module-resolution hooks (node:module register) that give the demo
// firmware (main.ts) the two modules a Moddable build or the XS host runner
// generates: "mc/config" and "hal/port". They map those names to the URLs the
// bench passes in; everything else resolves as usual.
import type { InitializeHook, ResolveHook } from "node:module";

let modules: Record<string, string> = {};

export const initialize: InitializeHook<{ modules: Record<string, string> }> = (data) => {
  modules = data.modules;
};

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  const url = modules[specifier];
  if (url) return { url, format: "module", shortCircuit: true };
  return nextResolve(specifier, context);
};
