/*
 * Appended to a copy of @agoric/xsnap's xsnapPlatform.c (whose own
 * fxLoadModule is renamed away) by build-xs-worker.sh. Module files are
 * parsed as xsc parses them for a Moddable build, so they may declare host
 * functions (`function f() @ "xs_f";`); each name is resolved in this
 * executable (linked with -rdynamic) and installed the way xsl's generated
 * code installs its table.
 */
#include <dlfcn.h>

static txInteger gxPendingHostCount = 0;
static txHostFunctionBuilder* gxPendingHosts = C_NULL;

/* The script's callback: runs at once from fxRunScript, before the module body. */
static void fxBuildPendingHosts(txMachine* the)
{
	fxBuildHosts(the, gxPendingHostCount, gxPendingHosts);
	mxPullSlot(mxResult);
}

static txHostFunctionBuilder* fxResolveHosts(txMachine* the, txScript* script, txInteger* count, char* missing, size_t missingSize)
{
	txByte* p = script->hostsBuffer;
	txID c;
	txInteger i;
	txHostFunctionBuilder* builders;
	mxDecodeID(p, c);
	builders = c_calloc(c ? c : 1, sizeof(txHostFunctionBuilder));
	if (!builders)
		return C_NULL;
	for (i = 0; i < c; i++) {
		txS1 length = *p++;
		txID id;
		char* name;
		void* symbol;
		mxDecodeID(p, id);
		(void)id;
		name = (char*)p;
		p += c_strlen(name) + 1;
		symbol = dlsym(RTLD_DEFAULT, name);
		if (!symbol) {
			c_snprintf(missing, missingSize, "%s", name);
			c_free(builders);
			return C_NULL;
		}
		builders[i].callback = (txCallback)symbol;
		builders[i].length = length;
		builders[i].id = XS_NO_ID;
	}
	*count = c;
	return builders;
}

void fxLoadModule(txMachine* the, txSlot* module, txID moduleID)
{
	char path[C_PATH_MAX];
	char real[C_PATH_MAX];
	char missing[128];
	txScript* script;
#ifdef mxDebug
	txUnsigned flags = mxDebugFlag | mxCFlag;
#else
	txUnsigned flags = mxCFlag;
#endif
	c_strncpy(path, fxGetKeyName(the, moduleID), C_PATH_MAX - 1);
	path[C_PATH_MAX - 1] = 0;
	if (!c_realpath(path, real))
		return;
	script = fxLoadScript(the, real, flags);
	if (!script)
		return;
	if (script->hostsBuffer) {
		missing[0] = 0;
		gxPendingHosts = fxResolveHosts(the, script, &gxPendingHostCount, missing, sizeof(missing));
		if (!gxPendingHosts) {
			fxDeleteScript(script);
			if (missing[0])
				mxReferenceError("host function %s is not linked into this xsnap-worker", missing);
			mxUnknownError("out of memory");
		}
		script->callback = fxBuildPendingHosts;
	}
	fxResolveModule(the, module, moduleID, script, C_NULL, C_NULL);
	/* The builders stay allocated: host functions may refer to them. */
	gxPendingHosts = C_NULL;
}
