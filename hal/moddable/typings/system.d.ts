// Types of the Moddable SDK's modules/io/system, mapped as "system" by its io manifests.
declare const System: {
  restart(): void;
};
export default System;
