// The development server's web console: plain browser JavaScript, no
// dependencies, talking only to the server's own HTTP API and its event
// stream (GET /events).

const LOG_LIMIT = 1000;
/** Events are taken in batches every FLUSH_MS; of a batch's notifications and Sends at most LOG_PER_FLUSH are logged (all update values and charts). */
const FLUSH_MS = 50;
const LOG_PER_FLUSH = 100;
/** Events waiting beyond this (a flooding client, a hidden tab) are dropped, oldest first, and counted. */
const MAX_PENDING = 20000;
const SERIES_LIMIT = 200;
/** Resource types the chart draws. */
const NUMERIC_TYPES = ["integer", "unsigned", "float", "time"];

/** Everything the page knows; the DOM is drawn from it. */
const state = {
  /** Object models by id: {id, name, multiple, resources: Map(id → resource definition)}. */
  models: new Map(),
  /** Registered clients by endpoint: the GET /clients summary with `links`. */
  clients: new Map(),
  /** The endpoint shown in the middle column. */
  selected: undefined,
  /** Latest values of the selected client, by path ("/3/0/13", "/3/0/6/0"). */
  values: new Map(),
  /** Paths observed on the selected client (GET /observations and this page's own). */
  observed: new Set(),
  /** Resources a read of their whole instance did not return (the device does not have them). */
  absent: new Set(),
  /** Instances and resources seen in answers but not in the registration or the models. */
  extra: new Map(),
  /** Objects shown open in the tree (Device at first). */
  openObjects: new Set([3]),
  /** Paths picked for composite read and observe. */
  selection: new Set(),
  /** Numeric values over time, by "endpoint path": [{t, v}]. */
  series: new Map(),
  chartPath: undefined,
  /** Commands of the selected client by id. */
  commands: new Map(),
  log: [],
};

// ------------------------------------------------------------------ helpers

const $ = (selector, root = document) => root.querySelector(selector);

/** Builds an element: attributes (on* as listeners, `class`, `data-*`, properties otherwise) and children (strings become text). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class" || name.startsWith("data-") || name === "title" || name === "for" || name === "role") element.setAttribute(name, String(value));
    else element[name] = value;
  }
  for (const child of children.flat()) if (child !== undefined && child !== null && child !== false) element.append(child instanceof Node ? child : String(child));
  return element;
}

const enc = encodeURIComponent;
const clientUrl = (endpoint, action) => `/clients/${enc(endpoint)}${action ? `/${action}` : ""}`;

/** A request to the HTTP API; JSON in and out. A non-2xx answer throws its "error". */
async function api(method, url, body) {
  const init = { method, headers: {} };
  if (body instanceof Blob) init.body = body;
  else if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let data;
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { text };
  }
  if (!response.ok) {
    const error = new Error(data.error || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function clock(time = new Date()) {
  return time.toTimeString().slice(0, 8) + "." + String(time.getMilliseconds()).padStart(3, "0");
}

function ago(iso) {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  return `${Math.floor(seconds / 3600)} h ago`;
}

function parsePath(text) {
  const parts = text.split("/").filter(Boolean).map(Number);
  return { objectId: parts[0], instanceId: parts[1], resourceId: parts[2], resourceInstanceId: parts[3] };
}

function hexToText(hex) {
  const bytes = (hex.match(/../g) || []).map((pair) => parseInt(pair, 16));
  return bytes.every((byte) => byte >= 0x20 && byte < 0x7f) ? String.fromCharCode(...bytes) : undefined;
}

function textToHex(text) {
  return Array.from(new TextEncoder().encode(text), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function base64(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** A value as people read it: {hex} as 0x…, object links as 3:0, times with their date. */
function showValue(value, definition) {
  if (value === undefined) return "";
  if (value && typeof value === "object") {
    if (typeof value.hex === "string") {
      const text = value.hex.length ? hexToText(value.hex) : "";
      return value.hex.length ? `0x${value.hex}${text ? `  "${text}"` : ""}` : "(empty)";
    }
    if ("objectId" in value) return `${value.objectId}:${value.instanceId}`;
    return JSON.stringify(value);
  }
  if (definition && definition.type === "time" && typeof value === "number") {
    const date = new Date(value * 1000);
    return Number.isFinite(date.getTime()) ? `${value} (${date.toISOString().replace(".000Z", "Z")})` : String(value);
  }
  return String(value);
}

function summarize(result) {
  let text = result.code || "";
  if (result.values && result.values.length) text += " " + result.values.map((v) => `${v.path}=${showValue(v.value)}`).join(" ");
  else if (result.text !== undefined) text += " " + result.text;
  else if (result.payloadHex) text += ` (${result.payloadHex.length / 2} B, format ${result.format ?? "?"})`;
  return text.length > 600 ? text.slice(0, 600) + "…" : text;
}

function selectedFormat() {
  const value = $("#format").value;
  return value === "" ? undefined : Number(value);
}

// ------------------------------------------------------------------ models

function modelOf(objectId) {
  return state.models.get(objectId);
}

function resourceModel(objectId, resourceId) {
  return modelOf(objectId)?.resources.get(resourceId);
}

function objectName(objectId) {
  return modelOf(objectId)?.name ?? `Object ${objectId}`;
}

async function loadModels() {
  try {
    const models = await api("GET", "/models");
    for (const model of models) state.models.set(model.id, { ...model, resources: new Map(model.resources.map((resource) => [resource.id, resource])) });
  } catch (error) {
    addLog("error", undefined, `object models not available (GET /models: ${error.message}): names are left out`, true);
  }
}

// ------------------------------------------------------------------ the log

function addLog(kind, endpoint, text, error = false) {
  const entry = { time: new Date(), kind, endpoint, text, error };
  state.log.push(entry);
  const list = $("#log");
  const item = h(
    "li",
    { class: `kind-${kind}${error ? " error" : ""}`, "data-endpoint": endpoint ?? "" },
    h("time", {}, clock(entry.time)),
    h("span", { class: "kind" }, kind),
    endpoint ? `${endpoint} ` : "",
    text,
  );
  filterItem(item);
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  list.append(item);
  while (state.log.length > LOG_LIMIT) {
    state.log.shift();
    list.firstElementChild?.remove();
  }
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function filterItem(item) {
  const filter = $("#log-filter").value.trim().toLowerCase();
  const onlySelected = $("#log-selected").checked;
  const endpoint = item.getAttribute("data-endpoint");
  const hidden = (filter && !item.textContent.toLowerCase().includes(filter)) || (onlySelected && endpoint && endpoint !== state.selected);
  item.classList.toggle("hidden", Boolean(hidden));
}

function refilterLog() {
  for (const item of $("#log").children) filterItem(item);
}

// ------------------------------------------------------------------ clients

function clientState(client) {
  if (typeof client.awake === "boolean") return client.awake ? "awake" : "sleeping";
  if (typeof client.state === "string") return client.state;
  if (client.queue && typeof client.queue.awake === "boolean") return client.queue.awake ? "awake" : "sleeping";
  return /Q/.test(client.binding || "") ? "queue mode" : "online";
}

/** The objects and instances of a registration, by object id: {version, instances:Set}. The root link (rt="oma.lwm2m") gives the prefix and default format. */
function registeredObjects(client) {
  const objects = new Map();
  const links = client.links || [];
  const root = links.find((link) => link.attributes.some(([name, value]) => name === "rt" && value === "oma.lwm2m"));
  const prefix = root && root.target !== "/" ? root.target.replace(/\/$/, "") : "";
  for (const link of links) {
    let target = link.target.replace(/^<|>$/g, "");
    if (prefix && target.startsWith(prefix + "/")) target = target.slice(prefix.length);
    const parts = target.split("/").filter(Boolean);
    if (parts.length === 0 || parts.length > 2 || !parts.every((part) => /^[0-9]+$/.test(part))) continue;
    const objectId = Number(parts[0]);
    const object = objects.get(objectId) ?? { version: undefined, instances: new Set() };
    const version = link.attributes.find(([name]) => name === "ver");
    if (version) object.version = String(version[1]);
    if (parts.length === 2) object.instances.add(Number(parts[1]));
    objects.set(objectId, object);
  }
  return objects;
}

function defaultFormat(client) {
  const root = (client.links || []).find((link) => link.attributes.some(([name, value]) => name === "rt" && value === "oma.lwm2m"));
  const ct = root?.attributes.find(([name]) => name === "ct");
  return ct ? String(ct[1]) : undefined;
}

async function loadClients() {
  const list = await api("GET", "/clients");
  const seen = new Set();
  let selectedAppeared = false;
  for (const summary of list) {
    seen.add(summary.endpoint);
    const known = state.clients.get(summary.endpoint);
    if (!known && summary.endpoint === state.selected) selectedAppeared = true;
    state.clients.set(summary.endpoint, { ...known, ...summary, links: known?.links ?? [] });
    if (!known || known.location !== summary.location) await loadClient(summary.endpoint, false);
  }
  for (const endpoint of Array.from(state.clients.keys())) if (!seen.has(endpoint)) state.clients.delete(endpoint);
  renderClients();
  if (state.selected === undefined && state.clients.size > 0) selectClient(wantedEndpoint() ?? state.clients.keys().next().value);
  else if (state.selected !== undefined) {
    renderClientHead();
    if (selectedAppeared) renderTree();
  }
}

/** One client with its links; re-draws its objects when they changed. */
async function loadClient(endpoint, render = true) {
  let detail;
  try {
    detail = await api("GET", clientUrl(endpoint));
  } catch (error) {
    if (error.status === 404) state.clients.delete(endpoint);
    if (render) renderClients();
    return;
  }
  const before = JSON.stringify(state.clients.get(endpoint)?.links ?? []);
  state.clients.set(endpoint, detail);
  if (!render) return;
  renderClients();
  if (endpoint === state.selected) {
    renderClientHead();
    if (before !== JSON.stringify(detail.links)) renderTree();
  }
}

function wantedEndpoint() {
  const match = /ep=([^&]+)/.exec(location.hash);
  const endpoint = match ? decodeURIComponent(match[1]) : undefined;
  return endpoint && state.clients.has(endpoint) ? endpoint : undefined;
}

function renderClients() {
  const body = $("#clients tbody");
  body.replaceChildren();
  for (const client of Array.from(state.clients.values()).sort((a, b) => a.endpoint.localeCompare(b.endpoint))) {
    const status = clientState(client);
    const objects = Array.from(registeredObjects(client).keys()).sort((a, b) => a - b);
    body.append(
      h(
        "tr",
        { class: client.endpoint === state.selected ? "selected" : "", "data-endpoint": client.endpoint, onclick: () => selectClient(client.endpoint) },
        h("td", { class: "endpoint" }, client.endpoint),
        h("td", { class: "version" }, client.version),
        h("td", { class: "binding" }, client.binding),
        h("td", { class: "lifetime" }, `${client.lifetime} s`),
        h("td", { class: "last-seen", title: client.lastSeen, "data-time": client.lastSeen }, ago(client.lastSeen)),
        h("td", { class: "state" }, h("span", { class: `badge ${status === "sleeping" ? "sleeping" : status === "awake" ? "awake" : "on"}` }, status)),
        h("td", { class: "transport", title: client.pskIdentity !== undefined ? `PSK identity ${client.pskIdentity}` : "" }, client.transport === "dtls" ? "DTLS" : "UDP"),
        h("td", { class: "address mono" }, client.address),
        h("td", { class: "objects" }, objects.map((id) => h("span", { class: "chip", title: objectName(id) }, `/${id} ${modelOf(id)?.name ?? ""}`.trim()))),
      ),
    );
  }
  $("#client-count").textContent = String(state.clients.size);
  $("#no-clients").hidden = state.clients.size > 0;
}

function tickTimes() {
  for (const cell of document.querySelectorAll("[data-time]")) cell.textContent = ago(cell.getAttribute("data-time"));
}

async function selectClient(endpoint) {
  if (state.selected !== endpoint) {
    state.selected = endpoint;
    state.values.clear();
    state.observed.clear();
    state.extra.clear();
    state.absent.clear();
    state.selection.clear();
    state.commands.clear();
    history.replaceState(null, "", `#ep=${enc(endpoint)}`);
  }
  renderClients();
  renderClientHead();
  renderTree();
  renderSelection();
  renderChart();
  refilterLog();
  await Promise.all([loadObservations(), loadCommands(), loadFotaJob()]).catch((error) => addLog("error", endpoint, error.message, true));
}

function renderClientHead() {
  const head = $("#client-head");
  const client = state.clients.get(state.selected);
  if (!client) {
    head.replaceChildren(h("h2", {}, state.selected ?? ""), h("p", { class: "warning" }, state.selected ? "not registered (deregistered or expired)" : "Select a client."));
    $("#command-send").disabled = true;
    $("#fota-start").disabled = true;
    return;
  }
  const format = defaultFormat(client);
  const fact = (label, value, cls) => h("span", {}, `${label} `, h("b", { class: cls }, value));
  head.replaceChildren(
    h("h2", {}, h("span", { id: "client-name" }, client.endpoint), h("span", { class: "path" }, client.location), h("span", { class: "badge on", id: "client-state" }, clientState(client))),
    h(
      "div",
      { class: "facts" },
      fact("LwM2M", client.version),
      fact("binding", client.binding),
      fact("lifetime", `${client.lifetime} s`, "lifetime"),
      fact("address", client.address),
      fact("transport", client.transport === "dtls" ? `DTLS (${client.pskIdentity})` : "UDP"),
      format ? fact("default format", format) : "",
      h("span", {}, "registered ", h("b", { id: "registered-at", "data-registered-at": client.registeredAt, title: client.registeredAt }, new Date(client.registeredAt).toLocaleTimeString())),
      h("span", {}, "last update ", h("b", { "data-time": client.lastSeen, title: client.lastSeen }, ago(client.lastSeen))),
    ),
  );
  const hasCommands = registeredObjects(client).has(19);
  const warning = $("#commands-warning");
  warning.hidden = hasCommands;
  warning.textContent = hasCommands ? "" : `${client.endpoint} registered no object 19 (BinaryAppDataContainer): commands to /19/1/0 will fail.`;
  $("#command-send").disabled = false;
  $("#fota-start").disabled = $("#fota-image").options.length === 0;
  $("#composite-bar").hidden = false;
}

// ------------------------------------------------------------------ the object tree

/** Instances to show per object: the registration's, and those seen in answers. */
function treeObjects() {
  const client = state.clients.get(state.selected);
  const objects = client ? registeredObjects(client) : new Map();
  for (const [objectId, extra] of state.extra) {
    const object = objects.get(objectId) ?? { version: undefined, instances: new Set() };
    for (const instanceId of extra.keys()) object.instances.add(instanceId);
    objects.set(objectId, object);
  }
  return new Map(Array.from(objects).sort((a, b) => a[0] - b[0]));
}

function button(op, label, title) {
  return h("button", { type: "button", "data-op": op, title }, label);
}

function renderTree() {
  const tree = $("#tree");
  tree.replaceChildren();
  if (!state.clients.get(state.selected)) return;
  for (const [objectId, object] of treeObjects()) {
    const model = modelOf(objectId);
    const details = h(
      "details",
      { class: "object", "data-object": objectId, "data-path": `/${objectId}`, open: state.openObjects.has(objectId), ontoggle: (event) => (event.currentTarget.open ? state.openObjects.add(objectId) : state.openObjects.delete(objectId)) },
      h(
        "summary",
        {},
        h("span", { class: "name" }, objectName(objectId)),
        h("span", { class: "path" }, `/${objectId}${object.version ? ` v${object.version}` : ""}`),
        h("span", { class: "instances" }, `${object.instances.size} instance${object.instances.size === 1 ? "" : "s"}`),
        h(
          "span",
          { class: "actions" },
          button("read", "Read", `Read /${objectId}`),
          button("observe", "Observe", `Observe /${objectId}`),
          button("cancel", "Cancel", `Cancel the observation of /${objectId}`),
          button("discover", "Discover", `Discover /${objectId}`),
          !model || model.multiple ? button("create", "Create", `Create an instance of /${objectId}`) : "",
        ),
      ),
    );
    for (const instanceId of Array.from(object.instances).sort((a, b) => a - b)) details.append(renderInstance(objectId, instanceId));
    tree.append(details);
  }
  renderValues();
}

function renderInstance(objectId, instanceId) {
  const path = `/${objectId}/${instanceId}`;
  const model = modelOf(objectId);
  const extra = state.extra.get(objectId)?.get(instanceId) ?? new Set();
  const ids = new Set([...(model ? model.resources.keys() : []), ...extra]);
  const rows = Array.from(ids)
    .sort((a, b) => a - b)
    .map((resourceId) => renderResource(objectId, instanceId, resourceId));
  return h(
    "div",
    { class: "instance", "data-path": path },
    h(
      "div",
      { class: "instance-head" },
      h("input", { type: "checkbox", class: "pick", title: `select ${path} for composite operations`, checked: state.selection.has(path) }),
      h("span", { class: "title" }, `Instance ${instanceId}`),
      h("span", { class: "path" }, path),
      button("read", "Read"),
      button("observe", "Observe"),
      button("cancel", "Cancel"),
      button("discover", "Discover"),
      button("attributes", "Attributes", "Write-Attributes"),
      button("delete", "Delete"),
      h("span", { class: "status" }),
    ),
    h("div", { class: "result", hidden: true }),
    h("table", { class: "resources" }, h("tbody", {}, rows)),
  );
}

function renderResource(objectId, instanceId, resourceId) {
  const path = `/${objectId}/${instanceId}/${resourceId}`;
  const definition = resourceModel(objectId, resourceId);
  const ops = definition ? definition.operations : "?";
  const readable = !definition || ops === "R" || ops === "RW";
  const writable = !definition || ops === "W" || ops === "RW";
  const executable = !definition || ops === "E";
  const numeric = definition ? NUMERIC_TYPES.includes(definition.type) : false;
  return h(
    "tr",
    { class: `resource${definition ? "" : " unmodelled"}${state.observed.has(path) ? " observed" : ""}${state.absent.has(path) ? " absent" : ""}`, "data-path": path },
    h("td", {}, readable ? h("input", { type: "checkbox", class: "pick", title: `select ${path} for composite operations`, checked: state.selection.has(path) }) : ""),
    h("td", { class: "rid" }, resourceId),
    h(
      "td",
      { class: "name", title: definition ? `${definition.type}${definition.multiple ? ", multiple" : ""}${definition.mandatory ? ", mandatory" : ""}${definition.range ? `, ${definition.range[0]}..${definition.range[1]}` : ""}` : "not in the models" },
      definition ? definition.name : `Resource ${resourceId}`,
      definition?.units ? h("span", { class: "units" }, ` ${definition.units}`) : "",
    ),
    h("td", { class: "ops" }, ops),
    h("td", { class: "value" }),
    h(
      "td",
      { class: "actions" },
      readable ? [button("read", "R", `Read ${path}`), button("observe", "Obs", `Observe ${path}`), button("cancel", "×", `Cancel the observation of ${path}`)] : "",
      writable ? button("write", "W", `Write ${path}`) : "",
      executable ? button("execute", "Exec", `Execute ${path}`) : "",
      button("discover", "D", `Discover ${path}`),
      button("attributes", "A", `Write-Attributes ${path}`),
      numeric && readable ? button("chart", "Chart", `Chart the notifications of ${path}`) : "",
    ),
  );
}

/** Puts the known values into the rows (a multiple resource shows its instances). */
function renderValues(changed) {
  for (const row of document.querySelectorAll("#tree tr.resource")) {
    const path = row.getAttribute("data-path");
    if (changed && !changed.has(path)) continue;
    const { objectId, resourceId } = parsePath(path);
    const definition = resourceModel(objectId, resourceId);
    const cell = $("td.value", row);
    let text;
    if (state.values.has(path)) text = showValue(state.values.get(path), definition);
    else {
      const parts = [];
      for (const [key, value] of state.values) if (key.startsWith(path + "/")) parts.push(`[${key.slice(path.length + 1)}] ${showValue(value, definition)}`);
      text = parts.join("\n");
    }
    if (cell.textContent !== text) {
      cell.textContent = text;
      cell.style.whiteSpace = text.includes("\n") ? "pre-wrap" : "";
      cell.classList.remove("flash");
      void cell.offsetWidth;
      cell.classList.add("flash");
    }
    row.classList.toggle("observed", state.observed.has(path));
  }
  for (const head of document.querySelectorAll("#tree .instance, #tree details.object")) {
    head.classList.toggle("observed", state.observed.has(head.getAttribute("data-path")));
  }
}

/** Takes the values of an answer or notification of the selected client; adds rows for what the tree lacks. */
function applyResult(path, result) {
  const changed = new Set();
  let grew = false;
  const take = (valuePath, value) => {
    const parsed = parsePath(valuePath);
    state.values.set(valuePath, value);
    if (parsed.resourceId === undefined) return;
    const resourcePath = `/${parsed.objectId}/${parsed.instanceId}/${parsed.resourceId}`;
    changed.add(resourcePath);
    state.absent.delete(resourcePath);
    if (!document.querySelector(`#tree tr[data-path="${resourcePath}"]`)) {
      const instances = state.extra.get(parsed.objectId) ?? new Map();
      const resources = instances.get(parsed.instanceId) ?? new Set();
      resources.add(parsed.resourceId);
      instances.set(parsed.instanceId, resources);
      state.extra.set(parsed.objectId, instances);
      grew = true;
    }
  };
  if (result.values) {
    // A read of a multiple resource replaces all its instances.
    for (const key of Array.from(state.values.keys())) if (path && parsePath(path).resourceId !== undefined && key.startsWith(path + "/")) state.values.delete(key);
    for (const { path: valuePath, value } of result.values) take(valuePath, value);
    // A read of a whole instance or object tells which resources the device has.
    if (path && result.success && parsePath(path).resourceId === undefined) {
      const scope = path + "/";
      for (const row of document.querySelectorAll("#tree tr.resource")) {
        const rowPath = row.getAttribute("data-path");
        if (!rowPath.startsWith(scope)) continue;
        // Reads leave out what is not readable: only readable resources can be found missing.
        const { objectId, resourceId } = parsePath(rowPath);
        const operations = resourceModel(objectId, resourceId)?.operations;
        if (operations !== "R" && operations !== "RW") continue;
        const present = changed.has(rowPath);
        if (present) state.absent.delete(rowPath);
        else state.absent.add(rowPath);
        row.classList.toggle("absent", !present);
      }
    }
  } else if (result.success && result.text !== undefined && path && parsePath(path).resourceId !== undefined && result.format !== 40) {
    take(path, result.text);
  }
  if (grew) renderTree();
  else renderValues(changed);
}

function instanceOf(path) {
  if (!path || path.includes(",")) return undefined;
  const { objectId, instanceId } = parsePath(path);
  return instanceId === undefined ? undefined : document.querySelector(`#tree .instance[data-path="/${objectId}/${instanceId}"]`);
}

function showStatus(path, text, error = false) {
  const instance = instanceOf(path);
  const status = instance && $(".status", instance);
  if (status) {
    status.textContent = `${path}: ${text}`;
    status.style.color = error ? "var(--bad)" : "";
  }
}

function showDetail(path, text) {
  const instance = instanceOf(path);
  const box = instance ? $(".result", instance) : $("#composite-result");
  if (!box) return;
  box.hidden = !text;
  box.textContent = text;
}

// ------------------------------------------------------------------ device management

/** Runs one operation with its button busy; logs the outcome. */
async function operate(trigger, label, path, run) {
  const endpoint = state.selected;
  if (trigger) {
    trigger.disabled = true;
    trigger.classList.add("busy");
  }
  try {
    const result = await run();
    if (result && typeof result === "object" && "code" in result) {
      addLog(`${label}`, endpoint, `${path} → ${summarize(result)}`, !result.success);
      showStatus(path, `${label} ${result.code}`, !result.success);
    } else {
      addLog(`${label}`, endpoint, `${path} → done`);
      showStatus(path, `${label} done`);
    }
    return result;
  } catch (error) {
    addLog(`${label}`, endpoint, `${path} → ${error.message}`, true);
    showStatus(path, `${label} failed: ${error.message}`, true);
    return undefined;
  } finally {
    if (trigger) {
      trigger.disabled = false;
      trigger.classList.remove("busy");
    }
  }
}

const operations = {
  async read(path, trigger) {
    const format = selectedFormat();
    const result = await operate(trigger, "read", path, () => api("GET", `${clientUrl(state.selected, "read")}?path=${enc(path)}${format !== undefined ? `&accept=${format}` : ""}`));
    if (result) {
      applyResult(path, result);
      for (const { path: valuePath, value } of result.values ?? []) record(state.selected, valuePath, value);
    }
  },

  async observe(path, trigger) {
    const format = selectedFormat();
    const result = await operate(trigger, "observe", path, () => api("POST", clientUrl(state.selected, "observe"), { path, ...(format !== undefined ? { format } : {}) }));
    if (result?.success) state.observed.add(path);
    if (result) {
      applyResult(path, result);
      for (const { path: valuePath, value } of result.values ?? []) record(state.selected, valuePath, value);
    }
  },

  async cancel(path, trigger) {
    const result = await operate(trigger, "cancel", path, () => api("DELETE", `${clientUrl(state.selected, "observe")}?path=${enc(path)}`));
    if (result !== undefined) state.observed.delete(path);
    renderValues();
  },

  async discover(path, trigger) {
    const result = await operate(trigger, "discover", path, () => api("GET", `${clientUrl(state.selected, "discover")}?path=${enc(path)}`));
    if (result) showDetail(path, `Discover ${path}: ${result.code}\n${(result.text ?? "").split(",").join(",\n")}`);
  },

  async write(path, trigger) {
    const { objectId, resourceId } = parsePath(path);
    const definition = resourceModel(objectId, resourceId);
    const type = definition?.type ?? "string";
    const current = state.values.get(path);
    const fields = [typedField("value", `${definition?.name ?? `Resource ${resourceId}`} (${definition ? type : "unknown type: sent as text"})`, type, definition, current)];
    if (definition?.multiple) fields.unshift({ name: "instance", label: "resource instance", type: "number", value: "0", step: "1", min: "0" });
    const answer = await ask(`Write ${path}`, definition?.units ? `in ${definition.units}` : "", fields);
    if (!answer) return;
    const target = definition?.multiple ? `${path}/${Number(answer.instance) || 0}` : path;
    let body;
    try {
      body = definition ? { path: target, value: typedValue(answer.value, type) } : { path: target, payloadHex: textToHex(answer.value), format: 0 };
    } catch (error) {
      addLog("write", state.selected, `${target}: ${error.message}`, true);
      return;
    }
    const format = selectedFormat();
    if (definition && format !== undefined) body.format = format;
    const result = await operate(trigger, "write", target, () => api("POST", clientUrl(state.selected, "write"), body));
    if (result?.success) applyResult(target, { success: true, values: [{ path: target, value: body.value ?? answer.value }] });
  },

  async execute(path, trigger) {
    const answer = await ask(`Execute ${path}`, "Arguments are optional, e.g. 0='text',1", [{ name: "args", label: "arguments", type: "text", value: "", placeholder: "none" }]);
    if (!answer) return;
    await operate(trigger, "execute", path, () => api("POST", clientUrl(state.selected, "execute"), { path, ...(answer.args ? { args: answer.args } : {}) }));
  },

  async attributes(path, trigger) {
    const names = ["pmin", "pmax", "gt", "lt", "st", "epmin", "epmax"];
    const answer = await ask(
      `Write-Attributes ${path}`,
      "A number sets an attribute, \"x\" clears it, blank leaves it.",
      names.map((name) => ({ name, label: name, type: "text", value: "", placeholder: "" })),
    );
    if (!answer) return;
    const body = { path };
    for (const name of names) {
      const raw = String(answer[name]).trim();
      if (raw === "") continue;
      if (raw === "x" || raw === "clear") body[name] = null;
      else if (Number.isFinite(Number(raw))) body[name] = Number(raw);
      else return addLog("attributes", state.selected, `${name}: "${raw}" is not a number`, true);
    }
    if (Object.keys(body).length === 1) return addLog("attributes", state.selected, `${path}: no attribute given`, true);
    await operate(trigger, "attributes", path, () => api("POST", clientUrl(state.selected, "attributes"), body));
  },

  async create(path, trigger) {
    const { objectId } = parsePath(path);
    const model = modelOf(objectId);
    const used = treeObjects().get(objectId)?.instances ?? new Set();
    let free = 0;
    while (used.has(free)) free++;
    const writable = model ? Array.from(model.resources.values()).filter((resource) => resource.operations === "W" || resource.operations === "RW") : [];
    const fields = [{ name: "instance", label: "instance id", type: "number", value: String(free), step: "1", min: "0" }];
    for (const resource of writable) fields.push(typedField(`r${resource.id}`, `${resource.id} ${resource.name} (${resource.type}${resource.mandatory ? ", mandatory" : ""})`, resource.type, resource, undefined));
    const answer = await ask(`Create an instance of /${objectId} ${objectName(objectId)}`, "Values left blank are not sent. Sent as SenML JSON.", fields);
    if (!answer) return;
    const instanceId = Number(answer.instance);
    const records = [];
    try {
      for (const resource of writable) {
        const raw = answer[`r${resource.id}`];
        if (raw === "" || raw === undefined) continue;
        const value = typedValue(raw, resource.type);
        const record = { n: `${resource.id}${resource.multiple ? "/0" : ""}` };
        if (typeof value === "number") record.v = value;
        else if (typeof value === "boolean") record.vb = value;
        else if (value && typeof value === "object") record.vd = base64((value.hex.match(/../g) || []).map((pair) => parseInt(pair, 16)));
        else if (resource.type === "objlnk") record.vlo = value;
        else record.vs = value;
        records.push(record);
      }
    } catch (error) {
      return addLog("create", state.selected, `/${objectId}: ${error.message}`, true);
    }
    if (records.length) records[0].bn = `/${objectId}/${instanceId}/`;
    const body = records.length ? { path: `/${objectId}`, format: 110, payloadHex: textToHex(JSON.stringify(records)) } : { path: `/${objectId}`, format: 11542, payloadHex: "" };
    const result = await operate(trigger, "create", `/${objectId}`, () => api("POST", clientUrl(state.selected, "create"), body));
    if (result?.success) {
      const created = records.length ? instanceId : undefined;
      if (created !== undefined) {
        const instances = state.extra.get(objectId) ?? new Map();
        if (!instances.has(created)) instances.set(created, new Set());
        state.extra.set(objectId, instances);
        renderTree();
      }
      // The client announces the new instance with a registration Update; its links are re-read then.
    }
  },

  async delete(path, trigger) {
    const answer = await ask(`Delete ${path}?`, "The instance and its resources are removed from the device.", []);
    if (!answer) return;
    const result = await operate(trigger, "delete", path, () => api("DELETE", `${clientUrl(state.selected, "instance")}?path=${enc(path)}`));
    if (result?.success) {
      const { objectId, instanceId } = parsePath(path);
      state.extra.get(objectId)?.delete(instanceId);
      for (const key of Array.from(state.values.keys())) if (key === path || key.startsWith(path + "/")) state.values.delete(key);
      instanceOf(path)?.remove();
    }
  },

  chart(path) {
    state.chartPath = path;
    renderChart();
  },
};

/** A dialog field for a value of a resource type. */
function typedField(name, label, type, definition, current) {
  const range = definition?.range;
  const shown = current === undefined ? "" : current && typeof current === "object" ? (current.hex ?? `${current.objectId}:${current.instanceId}`) : String(current);
  switch (type) {
    case "integer":
    case "unsigned":
      return { name, label, type: "number", step: "1", value: shown, ...(range ? { min: String(range[0]), max: String(range[1]) } : type === "unsigned" ? { min: "0" } : {}) };
    case "float":
      return { name, label, type: "number", step: "any", value: shown };
    case "boolean":
      return { name, label, type: "select", options: ["", "true", "false"], value: shown };
    case "time":
      return { name, label, type: "text", value: shown, placeholder: "seconds since 1970, or 2025-01-31T12:00:00Z" };
    case "opaque":
      return { name, label: `${label}, hex`, type: "text", value: shown, placeholder: "hex digits, e.g. 01ff", pattern: "([0-9a-fA-F]{2})*" };
    case "objlnk":
      return { name, label, type: "text", value: shown, placeholder: "object:instance, e.g. 3:0", pattern: "[0-9]+:[0-9]+" };
    default:
      return { name, label, type: "text", value: shown, ...(range ? { minLength: range[0], maxLength: range[1] } : {}) };
  }
}

/** A dialog answer as the JSON the HTTP API takes for a resource type. */
function typedValue(raw, type) {
  const text = String(raw).trim();
  switch (type) {
    case "integer":
    case "unsigned":
    case "float": {
      const number = Number(text);
      if (text === "" || !Number.isFinite(number)) throw new Error(`"${raw}" is not a number`);
      return number;
    }
    case "time": {
      if (/^-?[0-9]+$/.test(text)) return Number(text);
      const time = Date.parse(text);
      if (!Number.isFinite(time)) throw new Error(`"${raw}" is neither seconds nor a date`);
      return Math.floor(time / 1000);
    }
    case "boolean":
      if (text !== "true" && text !== "false") throw new Error("choose true or false");
      return text === "true";
    case "opaque":
      if (!/^([0-9a-fA-F]{2})*$/.test(text.replace(/^0x/, ""))) throw new Error("opaque values are hex digits in pairs");
      return { hex: text.replace(/^0x/, "") };
    default:
      return String(raw);
  }
}

// ------------------------------------------------------------------ the dialog

/** Shows the dialog with fields; resolves with their values, or undefined when cancelled. */
function ask(title, help, fields) {
  const dialog = $("#dialog");
  $("#dialog-title").textContent = title;
  $("#dialog-help").textContent = help;
  const container = $("#dialog-fields");
  container.replaceChildren();
  for (const field of fields) {
    const id = `field-${field.name}`;
    let input;
    if (field.type === "select") input = h("select", { id, name: field.name }, field.options.map((option) => h("option", { value: option, selected: option === field.value }, option || "—")));
    else {
      input = h("input", { id, name: field.name, type: field.type, value: field.value ?? "", placeholder: field.placeholder ?? "", autocomplete: "off" });
      for (const key of ["step", "min", "max", "pattern"]) if (field[key] !== undefined) input.setAttribute(key, field[key]);
      if (field.minLength !== undefined) input.minLength = field.minLength;
      if (field.maxLength !== undefined) input.maxLength = field.maxLength;
    }
    container.append(h("label", { for: id }, field.label), input);
  }
  return new Promise((resolve) => {
    const form = $("#dialog-form");
    const finish = (answer) => {
      form.removeEventListener("submit", submit);
      $("#dialog-cancel").removeEventListener("click", cancel);
      dialog.removeEventListener("cancel", cancel);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const submit = (event) => {
      event.preventDefault();
      const answer = {};
      for (const field of fields) answer[field.name] = $(`#field-${field.name}`).value;
      finish(answer);
    };
    const cancel = (event) => {
      event?.preventDefault();
      finish(undefined);
    };
    form.addEventListener("submit", submit);
    $("#dialog-cancel").addEventListener("click", cancel);
    dialog.addEventListener("cancel", cancel);
    dialog.showModal();
    (container.querySelector("input, select") ?? $("#dialog-ok")).focus();
  });
}

// ------------------------------------------------------------------ composite read and observe

function renderSelection() {
  const count = state.selection.size;
  $("#selection-count").textContent = String(count);
  for (const id of ["#composite-read", "#composite-observe", "#selection-clear"]) $(id).disabled = count === 0;
  $("#composite-cancel").disabled = false;
}

function compositeFormat() {
  const format = selectedFormat();
  return format === 110 || format === 112 ? format : undefined;
}

async function compositeRead() {
  const paths = Array.from(state.selection).sort();
  const format = compositeFormat();
  const result = await operate($("#composite-read"), "composite", paths.join(","), () => api("POST", clientUrl(state.selected, "composite"), { paths, ...(format ? { format } : {}) }));
  if (result) {
    applyResult(undefined, result);
    showDetail(undefined, `Read-Composite ${result.code}\n${(result.values ?? []).map((v) => `${v.path} = ${showValue(v.value)}`).join("\n") || result.text || ""}`);
  }
}

async function compositeObserve() {
  const paths = Array.from(state.selection).sort();
  const format = compositeFormat();
  const result = await operate($("#composite-observe"), "composite-observe", paths.join(","), () => api("POST", clientUrl(state.selected, "composite-observe"), { paths, ...(format ? { format } : {}) }));
  if (result) {
    applyResult(undefined, result);
    if (result.success) showDetail(undefined, `Observe-Composite of ${paths.join(", ")}: ${result.code}`);
  }
}

async function compositeCancel() {
  let observations = [];
  try {
    observations = (await api("GET", "/composite-observations")).filter((observation) => observation.endpoint === state.selected);
  } catch (error) {
    return addLog("composite-observe", state.selected, error.message, true);
  }
  if (observations.length === 0) return addLog("composite-observe", state.selected, "no composite observation to cancel");
  for (const { paths } of observations) {
    await operate($("#composite-cancel"), "cancel", paths.join(","), () => api("DELETE", `${clientUrl(state.selected, "composite-observe")}?paths=${enc(paths.join(","))}`));
  }
  showDetail(undefined, "");
}

// ------------------------------------------------------------------ observations

async function loadObservations() {
  const endpoint = state.selected;
  const list = await api("GET", "/observations");
  if (endpoint !== state.selected) return;
  state.observed = new Set(list.filter((observation) => observation.endpoint === endpoint).map((observation) => observation.path));
  renderValues();
}

// ------------------------------------------------------------------ the chart

/** Keeps numeric values over time, per endpoint and path. */
function record(endpoint, path, value, time = Date.now()) {
  if (typeof value !== "number" || !Number.isFinite(value)) return;
  const key = `${endpoint} ${path}`;
  const series = state.series.get(key) ?? [];
  series.push({ t: time, v: value });
  if (series.length > SERIES_LIMIT) series.splice(0, series.length - SERIES_LIMIT);
  state.series.set(key, series);
  if (endpoint === state.selected && path === state.chartPath) renderChart();
}

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes, text) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

function renderChart() {
  const chart = $("#chart");
  chart.replaceChildren();
  const path = state.chartPath;
  const { objectId, resourceId } = path ? parsePath(path) : {};
  const definition = path ? resourceModel(objectId, resourceId) : undefined;
  $("#chart-path").textContent = path ? `${path} ${definition?.name ?? ""}${definition?.units ? ` (${definition.units})` : ""}` : "";
  const points = path ? (state.series.get(`${state.selected} ${path}`) ?? []) : [];
  chart.setAttribute("data-points", String(points.length));
  $("#chart-hint").hidden = points.length > 0;
  const width = 360;
  const height = 160;
  const isTime = definition?.type === "time";
  const label = (v) => (isTime ? new Date(v * 1000).toTimeString().slice(0, 8) : Math.abs(v) >= 1000 || Number.isInteger(v) ? String(Math.round(v)) : v.toPrecision(4));
  const values = points.map((p) => p.v);
  // Room on the left for the longest value label (10 px text, about 6 px a character).
  const left = Math.max(30, 8 + 6 * Math.max(0, ...[Math.min(...values, 0), Math.max(...values, 0)].map((v) => label(v).length)));
  const right = 8;
  const top = 10;
  const bottom = 20;
  chart.append(svg("line", { class: "axis", x1: left, y1: top, x2: left, y2: height - bottom }), svg("line", { class: "axis", x1: left, y1: height - bottom, x2: width - right, y2: height - bottom }));
  if (points.length === 0) return;
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (low === high) {
    low -= 1;
    high += 1;
  }
  const first = points[0].t;
  const last = points[points.length - 1].t;
  const span = Math.max(1, last - first);
  const x = (t) => (points.length === 1 ? (left + width - right) / 2 : left + ((t - first) / span) * (width - left - right));
  const y = (v) => top + (1 - (v - low) / (high - low)) * (height - top - bottom);
  chart.append(
    svg("text", { x: left - 4, y: top + 8, "text-anchor": "end" }, label(high)),
    svg("text", { x: left - 4, y: height - bottom, "text-anchor": "end" }, label(low)),
    svg("text", { x: left, y: height - 5 }, new Date(first).toTimeString().slice(0, 8)),
    svg("text", { x: width - right, y: height - 5, "text-anchor": "end" }, new Date(last).toTimeString().slice(0, 8)),
    svg("polyline", { class: "line", points: points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ") }),
  );
  for (const p of points.slice(-60)) chart.append(svg("circle", { class: "dot", cx: x(p.t).toFixed(1), cy: y(p.v).toFixed(1), r: 2 }, undefined));
  const current = points[points.length - 1].v;
  chart.append(svg("text", { x: width - right, y: top + 8, "text-anchor": "end", class: "current" }, `${label(current)}${definition?.units ? ` ${definition.units}` : ""} · ${points.length} pt`));
}

// ------------------------------------------------------------------ commands

async function loadCommands() {
  const endpoint = state.selected;
  const list = await api("GET", `/commands?endpoint=${enc(endpoint)}`);
  if (endpoint !== state.selected) return;
  state.commands = new Map(list.map((command) => [command.id, command]));
  renderCommands();
}

function renderCommands() {
  const body = $("#commands tbody");
  body.replaceChildren();
  for (const command of Array.from(state.commands.values()).sort((a, b) => b.id - a.id)) {
    const text = hexToText(command.dataHex);
    body.append(
      h(
        "tr",
        { "data-command": command.id },
        h("td", {}, command.id),
        h("td", { class: "mono", title: `hex ${command.dataHex}` }, text !== undefined ? text : `0x${command.dataHex}`),
        h("td", { class: `command-status status-${command.status}` }, command.status),
        h("td", { class: "mono" }, command.result ?? ""),
        h("td", {}, command.status === "waiting" ? h("button", { type: "button", onclick: () => cancelCommand(command.id) }, "Cancel") : ""),
      ),
    );
  }
}

async function sendCommand(event) {
  event.preventDefault();
  const data = $("#command-data").value;
  const hex = $("#command-hex").checked;
  const expiry = $("#command-expiry").value.trim();
  if (!state.selected) return;
  if (!data) return addLog("command", state.selected, "give the command's data", true);
  if (hex && !/^([0-9a-fA-F]{2})+$/.test(data)) return addLog("command", state.selected, "hex data is pairs of hex digits", true);
  const body = { ...(hex ? { dataHex: data } : { text: data }), ...(expiry ? { expiresInSeconds: Number(expiry) } : {}), ...($("#command-immediate").checked ? { immediate: true } : {}) };
  try {
    const command = await api("POST", clientUrl(state.selected, "commands"), body);
    updateCommand(command, false);
    $("#command-data").value = "";
  } catch (error) {
    addLog("command", state.selected, error.message, true);
  }
}

async function cancelCommand(id) {
  try {
    await api("DELETE", `/commands/${id}`);
  } catch (error) {
    addLog("command", state.selected, `#${id}: ${error.message}`, true);
  }
}

/** A command's state: events come in order and always win; the POST's answer only adds a command not heard of yet. */
function updateCommand(command, fromEvent = true) {
  if (command.endpoint !== state.selected) return;
  if (!fromEvent && state.commands.has(command.id)) return;
  state.commands.set(command.id, command);
  renderCommands();
}

// ------------------------------------------------------------------ firmware update

async function loadImages() {
  try {
    const images = await api("GET", "/images");
    const select = $("#fota-image");
    const chosen = select.value;
    select.replaceChildren(...images.map((image) => h("option", { value: image.name, selected: image.name === chosen }, `${image.name} (${image.size} B${image.version ? `, v${image.version}` : ""})`)));
    $("#fota-start").disabled = images.length === 0 || !state.clients.has(state.selected);
  } catch (error) {
    addLog("fota", undefined, `images: ${error.message}`, true);
  }
}

async function uploadImage(event) {
  event.preventDefault();
  const file = $("#image-file").files[0];
  if (!file) return addLog("fota", undefined, "choose a file to upload", true);
  const name = ($("#image-name").value.trim() || file.name).replace(/[^A-Za-z0-9._-]/g, "_");
  try {
    const stored = await api("PUT", `/images/${enc(name)}`, file);
    addLog("fota", undefined, `image ${name} stored (${stored.size ?? file.size} B)`);
    await loadImages();
    $("#fota-image").value = name;
  } catch (error) {
    addLog("fota", undefined, `upload of ${name}: ${error.message}`, true);
  }
}

async function startFota(event) {
  event.preventDefault();
  const image = $("#fota-image").value;
  if (!state.selected || !image) return;
  const body = { image, method: $("#fota-method").value, autoUpdate: $("#fota-auto").checked, ...($("#fota-method").value === "pull" ? { scheme: $("#fota-scheme").value } : {}) };
  try {
    showJob(await api("POST", clientUrl(state.selected, "fota"), body));
  } catch (error) {
    addLog("fota", state.selected, error.message, true);
    $("#fota-status").textContent = error.message;
  }
}

async function cancelFota() {
  try {
    showJob(await api("DELETE", clientUrl(state.selected, "fota")));
  } catch (error) {
    addLog("fota", state.selected, error.message, true);
  }
}

async function loadFotaJob() {
  const endpoint = state.selected;
  $("#fota-progress").value = 0;
  $("#fota-percent").textContent = "–";
  $("#fota-status").textContent = "";
  $("#fota-cancel").disabled = true;
  const job = (await api("GET", "/fota")).find((candidate) => candidate.endpoint === endpoint);
  if (job && endpoint === state.selected) showJob(job);
}

function showProgress(bytes, total) {
  const bar = $("#fota-progress");
  bar.max = Math.max(1, total);
  bar.value = Math.min(bytes, bar.max);
  $("#fota-percent").textContent = total ? `${Math.floor((100 * bytes) / total)}%` : "–";
}

function showJob(job) {
  if (!job || job.endpoint !== state.selected) return;
  showProgress(job.bytes ?? 0, job.total ?? 0);
  const finished = ["succeeded", "failed", "cancelled"].includes(job.status);
  $("#fota-cancel").disabled = finished;
  const status = $("#fota-status");
  status.replaceChildren(
    `${job.image} (${job.method}${job.scheme ? ` ${job.scheme}` : ""}): `,
    h("span", { class: `status-${job.status}` }, job.status),
    job.deviceState !== undefined ? `, device state ${job.deviceState} (${DEVICE_STATES[job.deviceState] ?? "?"})` : "",
    job.version !== undefined ? `, firmware ${job.previousVersion ?? "?"} → ${job.version}` : "",
    job.detail ? ` — ${job.detail}` : "",
  );
}

// ------------------------------------------------------------------ live events

/** /5/0/3 State names. */
const DEVICE_STATES = ["Idle", "Downloading", "Downloaded", "Updating"];
/** /5/0/5 Update Result names. */
const UPDATE_RESULTS = ["initial", "success", "not enough flash", "out of RAM", "connection lost", "integrity check failure", "unsupported package type", "invalid URI", "update failed", "unsupported protocol"];

const pending = [];
let flushTimer;
let droppedEvents = 0;

function enqueue(event) {
  pending.push(event);
  if (pending.length > MAX_PENDING) {
    pending.shift();
    droppedEvents++;
  }
  flushTimer ??= setTimeout(flush, FLUSH_MS);
}

function flush() {
  flushTimer = undefined;
  const batch = pending.splice(0);
  const frequent = batch.filter((event) => event.type === "notification" || event.type === "send").length;
  let unlogged = Math.max(0, frequent - LOG_PER_FLUSH);
  const skipped = unlogged;
  for (const event of batch) {
    const quiet = (event.type === "notification" || event.type === "send") && unlogged > 0;
    if (quiet) unlogged--;
    onEvent(event, !quiet);
  }
  if (skipped > 0 || droppedEvents > 0) {
    addLog("flood", undefined, `${skipped} notifications or Sends not logged${droppedEvents ? `, ${droppedEvents} events dropped unseen` : ""} (more than ${LOG_PER_FLUSH} in ${FLUSH_MS} ms)`, true);
    droppedEvents = 0;
  }
}

function onEvent(event, logged = true) {
  switch (event.type) {
    case "registered":
      addLog("registered", event.endpoint, `at ${event.location}, LwM2M ${event.version}, binding ${event.binding}, lifetime ${event.lifetime} s${event.pskIdentity !== undefined ? `, DTLS "${event.pskIdentity}"` : ""}: ${event.objects.join(" ")}`);
      if (event.endpoint === state.selected) {
        // A fresh registration: the device forgot its observations.
        state.observed.clear();
        void loadObservations().catch(() => undefined);
      }
      void refreshClient(event.endpoint);
      break;
    case "updated":
      addLog("updated", event.endpoint, "registration update");
      void refreshClient(event.endpoint);
      break;
    case "deregistered":
      addLog("deregistered", event.endpoint, event.reason === "expired" ? "expired (no update within its lifetime)" : "deregistered");
      state.clients.delete(event.endpoint);
      renderClients();
      if (event.endpoint === state.selected) {
        state.observed.clear();
        renderClientHead();
        renderTree();
      }
      break;
    case "notification":
      if (logged) addLog("notification", event.endpoint, `${event.path}: ${summarize(event.result)}`, !event.result.success);
      for (const { path, value } of event.result.values ?? []) record(event.endpoint, path, value);
      if (event.endpoint === state.selected) applyResult(event.composite ? undefined : event.path, event.result);
      break;
    case "send":
      if (logged) addLog("send", event.endpoint, summarize(event.result), !event.result.success);
      for (const { path, value } of event.result.values ?? []) record(event.endpoint, path, value);
      if (event.endpoint === state.selected) applyResult(undefined, event.result);
      break;
    case "command":
      addLog("command", event.command.endpoint, `#${event.command.id} ${event.command.status}${event.command.result ? ` (${event.command.result})` : ""}`, ["failed", "timeout", "expired"].includes(event.command.status));
      updateCommand(event.command);
      break;
    case "bootstrap":
      addLog("bootstrap", event.record.endpoint, event.record.status === "finished" ? `done: given ${event.record.serverUri}` : `failed: ${event.record.reason}`, event.record.status !== "finished");
      break;
    case "fota-progress":
      if (event.endpoint === state.selected) showProgress(event.bytes, event.total);
      addLog("fota", event.endpoint, `${event.image} (${event.transport}): ${event.total ? Math.floor((100 * event.bytes) / event.total) : 100}% (${event.bytes}/${event.total} B)`);
      break;
    case "fota-job":
      showJob(event.job);
      addLog("fota", event.job.endpoint, `${event.job.image}: ${event.job.status}${event.job.detail ? `: ${event.job.detail}` : ""}`, event.job.status === "failed");
      break;
    case "fota-result":
      addLog("fota", event.endpoint, `${event.image}: ${event.success ? "updated" : "failed"}, Update Result ${event.result} (${UPDATE_RESULTS[event.result] ?? "unknown"})${event.version !== undefined ? `, firmware version ${event.version}` : ""}`, !event.success);
      break;
    default:
      addLog(event.type ?? "event", event.endpoint, JSON.stringify(event));
  }
}

async function refreshClient(endpoint) {
  try {
    if (!state.clients.has(endpoint)) return await loadClients();
    await loadClient(endpoint);
  } catch (error) {
    addLog("error", endpoint, error.message, true);
  }
}

function connectEvents() {
  const badge = $("#connection");
  const source = new EventSource("/events");
  source.onopen = () => {
    badge.textContent = "live";
    badge.className = "badge on";
    // Whatever happened while the stream was down.
    void loadClients().catch((error) => addLog("error", undefined, error.message, true));
  };
  source.onerror = () => {
    badge.textContent = "reconnecting";
    badge.className = "badge off";
  };
  source.onmessage = (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    enqueue(event);
  };
}

// ------------------------------------------------------------------ start

function wire() {
  $("#tree").addEventListener("click", (event) => {
    const trigger = event.target.closest("button[data-op]");
    if (!trigger) return;
    event.preventDefault();
    const path = trigger.closest("[data-path]").getAttribute("data-path");
    void operations[trigger.getAttribute("data-op")](path, trigger);
  });
  $("#tree").addEventListener("change", (event) => {
    if (!event.target.classList.contains("pick")) return;
    const path = event.target.closest("[data-path]").getAttribute("data-path");
    if (event.target.checked) state.selection.add(path);
    else state.selection.delete(path);
    renderSelection();
  });
  $("#composite-read").addEventListener("click", () => void compositeRead());
  $("#composite-observe").addEventListener("click", () => void compositeObserve());
  $("#composite-cancel").addEventListener("click", () => void compositeCancel());
  $("#selection-clear").addEventListener("click", () => {
    state.selection.clear();
    for (const box of document.querySelectorAll("#tree input.pick")) box.checked = false;
    renderSelection();
  });
  $("#command-form").addEventListener("submit", (event) => void sendCommand(event));
  $("#image-form").addEventListener("submit", (event) => void uploadImage(event));
  $("#image-file").addEventListener("change", () => {
    const file = $("#image-file").files[0];
    if (file && !$("#image-name").value) $("#image-name").value = file.name.replace(/[^A-Za-z0-9._-]/g, "_");
  });
  $("#fota-form").addEventListener("submit", (event) => void startFota(event));
  $("#fota-cancel").addEventListener("click", () => void cancelFota());
  $("#fota-method").addEventListener("change", () => ($("#fota-scheme").disabled = $("#fota-method").value !== "pull"));
  $("#log-filter").addEventListener("input", refilterLog);
  $("#log-selected").addEventListener("change", refilterLog);
  $("#log-clear").addEventListener("click", () => {
    state.log.length = 0;
    $("#log").replaceChildren();
  });
  setInterval(tickTimes, 1000);
}

async function start() {
  wire();
  renderChart();
  await loadModels();
  connectEvents();
  await loadImages();
  document.body.setAttribute("data-ready", "true");
}

void start();
