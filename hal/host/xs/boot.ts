// Host entry, run by the host's firmware runner: like Moddable's runtime, it
// calls the default export of the main module.
import main from "../../../main.js";

main();
