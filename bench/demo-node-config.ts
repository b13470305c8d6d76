// Module "mc/config" for the demo firmware (main.ts) run directly in Node by
// bench/fixed-work.ts (bench/demo-loader-hooks.ts maps the name here). The
// bench fills it in before it calls main(), as mcconfig's name=value
// arguments fill mc/config on Moddable.
const config: Record<string, string | number | boolean | undefined> = {};
export default config;
