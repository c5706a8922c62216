// Rosetta's search page. Plain ES module, no dependencies: everything comes
// from the JSON API of the server that serves this file. All text from the
// API is set with textContent, never parsed as HTML.

const $ = (id) => document.getElementById(id);
const KEY = "rosetta-api-key";
const POLL_MS = 3000;
const FIELDS = ["key", "modality", "source", "metadata", "text", "content"];
const MAX_K = 10000; // the server's bound on k

const state = {
  collections: [],
  collection: "",
  file: null, // the query file, when one is chosen
  lastSeq: null, // the collection's change counter at the previous poll
  lastPoll: 0,
  pollTimer: 0,
  last: null, // the last query run, for "More results"
};

// ---- API -----------------------------------------------------------------

class APIError extends Error {
  constructor(status, code, message) {
    super(`${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

function apiKey() {
  return sessionStorage.getItem(KEY) || "";
}

function authHeaders() {
  const k = apiKey();
  return k ? { Authorization: `Bearer ${k}` } : {};
}

async function api(method, path, body) {
  const init = { method, headers: authHeaders() };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new APIError(0, "network", `the server did not answer (${e.message})`);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = data && data.error ? data.error : { code: "http_error", message: text.trim() || res.statusText };
    if (res.status === 401) askForKey();
    throw new APIError(res.status, err.code, err.message);
  }
  return data;
}

function showError(e) {
  const box = $("error");
  box.textContent = e instanceof APIError ? `API error ${e.message}` : `Error: ${e.message || e}`;
  box.hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

function askForKey() {
  const d = $("key-dialog");
  if (!d.open) {
    $("key-input").value = apiKey();
    d.showModal();
  }
}

// mediaSession asks the server for its media cookie, so that <img> and
// <audio> (which cannot send the Authorization header) can load thumbnails
// and media when the server requires an API key. Without a key nothing is
// needed.
async function mediaSession() {
  if (apiKey()) await api("POST", "/v1/session/media");
}

// ---- collections and overview --------------------------------------------

function enc(s) {
  return encodeURIComponent(s);
}

async function loadCollections() {
  const data = await api("GET", "/v1/collections");
  state.collections = data.collections || [];
  const sel = $("collection");
  sel.replaceChildren();
  for (const c of state.collections) {
    const o = document.createElement("option");
    o.value = c.name;
    o.textContent = `${c.name} (${c.count})`;
    sel.append(o);
  }
  if (!state.collections.length) {
    $("overview").textContent = "No collections yet: ingest some files with `rosetta ingest`.";
    return;
  }
  const want = new URLSearchParams(location.search).get("collection");
  const pick = state.collections.find((c) => c.name === want) || state.collections[0];
  sel.value = pick.name;
  selectCollection(pick.name);
}

function selectCollection(name) {
  state.collection = name;
  state.lastSeq = null;
  const c = state.collections.find((x) => x.name === name);
  const sp = $("space");
  sp.replaceChildren();
  for (const s of c ? c.spaces : []) {
    const o = document.createElement("option");
    o.value = s.name;
    o.textContent = `${s.name} (${s.dim}d${s.model ? ", " + s.model.split("/").pop() : ""})`;
    sp.append(o);
  }
  $("results").replaceChildren();
  $("status").textContent = "";
  $("more-results").hidden = true;
  state.last = null;
  refreshOverview();
}

function item(label, value) {
  const span = document.createElement("span");
  span.append(`${label} `);
  const b = document.createElement("b");
  b.textContent = value;
  span.append(b);
  return span;
}

function ago(iso) {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

async function refreshOverview() {
  clearTimeout(state.pollTimer);
  const name = state.collection;
  if (!name) return;
  try {
    const st = await api("GET", `/v1/collections/${enc(name)}/stats`);
    if (name !== state.collection) return;
    renderOverview(st);
  } catch (e) {
    showError(e);
  }
  state.pollTimer = setTimeout(refreshOverview, POLL_MS);
}

function renderOverview(st) {
  const ov = $("overview");
  const parts = [item("objects", String(st.count))];
  const labels = { image: "images", text: "texts", audio: "audio", video: "videos", "": "other" };
  for (const m of ["image", "text", "audio", "video", ""]) {
    if (!st.modalities[m]) continue;
    let n = String(st.modalities[m]);
    if (m === "audio" && st.segments) n += ` (${st.segments} of them segments)`;
    parts.push(item(labels[m], n));
  }
  for (const s of st.spaces) {
    parts.push(item(`space ${s.name}`, `${s.dim}d ${s.metric || "cosine"}${s.model ? " · " + s.model : ""}`));
  }
  for (const s of st.space_stats) {
    parts.push(item(`index ${s.name}`, `${s.live} live, ${s.slots} nodes, ${s.tombstones} tombstones, ${s.storage}`));
    parts.push(item("last snapshot", s.snapshot ? ago(s.snapshot) : "none yet"));
  }
  if (st.keyword_stats) {
    const k = st.keyword_stats;
    parts.push(item("keyword index", `${k.documents} documents, ${k.terms} terms, ${k.language}`));
  }
  const now = Date.now();
  if (state.lastSeq !== null && st.last_seq > state.lastSeq) {
    const secs = (now - state.lastPoll) / 1000;
    const span = document.createElement("span");
    span.className = "ingest";
    span.id = "ingest-progress";
    const n = st.last_seq - state.lastSeq;
    span.textContent = `ingest in progress: ${n} change${n === 1 ? "" : "s"} in ${secs.toFixed(0)} s`;
    parts.push(span);
  }
  parts.push(item("server writes", String(st.server.objects_written)));
  state.lastSeq = st.last_seq;
  state.lastPoll = now;
  ov.replaceChildren(...parts);
}

// ---- filter --------------------------------------------------------------

function addFilterRow() {
  const row = $("filter-row").content.firstElementChild.cloneNode(true);
  row.querySelector(".f-remove").addEventListener("click", () => row.remove());
  $("filter-rows").append(row);
  row.querySelector(".f-field").focus();
}

// parseValue reads a filter value as JSON where it is a number or boolean,
// else as a string.
function parseValue(v) {
  const t = v.trim();
  if (t === "true") return true;
  if (t === "false") return false;
  if (t !== "" && !Number.isNaN(Number(t))) return Number(t);
  return v;
}

function buildFilter() {
  const clauses = [];
  for (const row of document.querySelectorAll("#filter-rows .filter-row")) {
    const field = row.querySelector(".f-field").value.trim();
    const op = row.querySelector(".f-op").value;
    const raw = row.querySelector(".f-value").value;
    if (!field) continue;
    const c = { field };
    if (op === "exists") {
      c.exists = raw.trim() !== "false";
    } else if (op === "gte" || op === "lte") {
      const n = Number(raw.trim());
      if (raw.trim() === "" || Number.isNaN(n)) throw new Error(`filter on ${field}: ${op} needs a number`);
      c[op] = n;
    } else {
      c[op] = parseValue(raw);
    }
    clauses.push(c);
  }
  const text = $("filter-json").value.trim();
  if (text) {
    try {
      clauses.push(JSON.parse(text));
    } catch (e) {
      throw new Error(`raw JSON filter: ${e.message}`);
    }
  }
  if (!clauses.length) return undefined;
  return clauses.length === 1 ? clauses[0] : { and: clauses };
}

// ---- query ---------------------------------------------------------------

function fileKind(f) {
  if (f.type.startsWith("image/")) return "image";
  if (f.type.startsWith("audio/") || f.type === "application/ogg") return "audio";
  const ext = f.name.toLowerCase().split(".").pop();
  if (["wav", "flac", "mp3", "ogg", "oga"].includes(ext)) return "audio";
  if (["jpg", "jpeg", "png", "gif", "bmp", "webp", "tif", "tiff"].includes(ext)) return "image";
  return "";
}

function setFile(f) {
  if (f && !fileKind(f)) {
    showError(new Error(`${f.name} is neither an image nor an audio file`));
    return;
  }
  state.file = f;
  if (f) $("q-text").value = ""; // the file is the query now
  $("q-file-name").textContent = f ? `${fileKind(f)}: ${f.name}` : "";
  $("q-clear").hidden = !f;
}

function readBase64(f) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).split(",", 2)[1] || "");
    r.onerror = () => reject(r.error);
    r.readAsDataURL(f);
  });
}

async function runSearch(query, label, extra) {
  clearError();
  if (!state.collection) {
    showError(new Error("no collection selected"));
    return;
  }
  const k = parseInt($("k").value, 10);
  if (!(k >= 1)) {
    showError(new Error("k must be a positive number"));
    return;
  }
  let filter;
  try {
    filter = buildFilter();
  } catch (e) {
    showError(e);
    return;
  }
  const body = { k, fields: FIELDS, ...(extra || {}) };
  if (query) body.query = query;
  const mode = $("mode").value;
  if (mode && !body.mode) body.mode = mode;
  const alpha = $("alpha").value.trim();
  if (alpha !== "" && (mode === "hybrid" || mode === "")) {
    const a = Number(alpha);
    if (!(a >= 0 && a <= 1)) {
      showError(new Error("alpha must be between 0 and 1"));
      return;
    }
    if (query && query.text) body.alpha = a;
  }
  if ($("group").checked) body.group_by = "parent";
  if ($("space").value) body.space = $("space").value;
  if ($("modality").value) body.modality = $("modality").value;
  if (filter !== undefined) body.filter = filter;
  $("status").textContent = `Searching ${label}…`;
  $("results").setAttribute("aria-busy", "true");
  try {
    const res = await api("POST", `/v1/collections/${enc(state.collection)}/search`, body);
    const n = res.hits.length;
    $("status").textContent = `${n} result${n === 1 ? "" : "s"} for ${label} in ${res.took_ms.toFixed(1)} ms (${res.mode})`;
    renderHits(res.hits);
    // A full page may have more behind it: offer twice as many.
    state.last = { query, label, extra };
    $("more-results").hidden = n < k || 2 * k > MAX_K;
  } catch (e) {
    $("status").textContent = "";
    $("results").replaceChildren();
    $("more-results").hidden = true;
    showError(e);
  } finally {
    $("results").removeAttribute("aria-busy");
  }
}

async function submitSearch(ev) {
  ev.preventDefault();
  if (state.file) {
    const kind = fileKind(state.file);
    let b64;
    try {
      b64 = await readBase64(state.file);
    } catch (e) {
      showError(e);
      return;
    }
    await runSearch({ [kind]: b64 }, `${kind} ${state.file.name}`);
    return;
  }
  const text = $("q-text").value.trim();
  if (!text) {
    showError(new Error("type a query, or choose an image or audio file"));
    return;
  }
  // Keyword mode needs no vector side: send the text as the keyword query.
  if ($("mode").value === "keyword") {
    await runSearch(undefined, `“${text}”`, { keyword: text });
    return;
  }
  await runSearch({ text }, `“${text}”`);
}

// ---- results -------------------------------------------------------------

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function objectPath(id) {
  return `/v1/collections/${enc(state.collection)}/objects/${id}`;
}

function mediaFailed(card, why) {
  if (!card.querySelector(".media-error")) card.append(el("div", "media-error", `media unavailable: ${why}`));
}

// explainFailure asks the server why media did not load (an <img> or
// <audio> only says that it failed) and shows the answer on the card.
async function explainFailure(card, url, fallback) {
  let why = fallback;
  try {
    const res = await fetch(url.split("#")[0], { headers: { ...authHeaders(), Range: "bytes=0-0" } });
    const body = await res.json();
    if (body && body.error) why = `${res.status} ${body.error.code}: ${body.error.message}`;
  } catch {}
  mediaFailed(card, why);
}

async function thumbFailed(card, img) {
  img.hidden = true;
  await explainFailure(card, img.src, "the thumbnail did not load");
}

function renderHits(hits) {
  const grid = $("results");
  grid.replaceChildren();
  hits.forEach((h, i) => grid.append(renderHit(h, i + 1)));
}

function renderHit(h, rank) {
  const o = h.object || {};
  const md = o.metadata || {};
  const card = el("article", "card");
  card.dataset.id = String(h.id);
  if (o.key) card.dataset.key = o.key;
  const head = el("div", "head");
  head.append(el("span", "rank", `#${rank}`), el("span", "modality", o.modality || "object"), el("span", "score", h.score.toFixed(4)));
  if (h.rerank_score != null) head.append(el("span", "rerank", `match ${h.rerank_score.toFixed(3)}`));
  card.append(head);
  if (h.found_by) {
    const sides = [];
    if (h.found_by.vector) sides.push(`vector #${h.found_by.vector.rank} (${h.found_by.vector.score.toFixed(3)})`);
    if (h.found_by.keyword) sides.push(`keyword #${h.found_by.keyword.rank} (${h.found_by.keyword.score.toFixed(2)})`);
    card.append(el("div", "found-by", sides.join(" · ")));
  }
  // Highlighted snippets: each part is a text node or a <mark> holding
  // text, never markup from the server.
  for (const sn of h.snippets || []) {
    const p = el("p", "highlight");
    p.dataset.field = sn.field;
    p.append(el("span", "field", `${sn.field}: `));
    for (const part of sn.parts) p.append(part.match ? el("mark", "", part.text) : document.createTextNode(part.text));
    card.append(p);
  }

  // A video, or one of its frames: a player that starts at the hit's
  // time (a grouped hit's best segment), its keyframe as the poster.
  const isFrame = md.segment_kind === "frame";
  if ((o.modality === "video" || isFrame) && o.source) {
    const player = el("video", "video");
    player.controls = true;
    player.muted = true;
    player.preload = "metadata";
    player.playsInline = true;
    const best = (h.segments && h.segments[0] && h.segments[0].object && h.segments[0].object.metadata) || md;
    const start = typeof best.segment_start === "number" ? best.segment_start : null;
    const end = typeof best.segment_end === "number" ? best.segment_end : null;
    if (start !== null) {
      card.append(el("div", "segment", `from ${start.toFixed(1)} s${end !== null ? " to " + end.toFixed(1) + " s" : ""}`));
      player.dataset.start = String(start);
      player.addEventListener("loadedmetadata", () => {
        if (player.currentTime < start) player.currentTime = start;
      });
    }
    player.poster = `${objectPath(h.id)}/thumbnail?size=256`;
    player.addEventListener("error", () => explainFailure(card, player.src, "the server could not serve this video"));
    card.append(player);
    const frag = start !== null ? `#t=${start}${end !== null ? "," + end : ""}` : "";
    player.src = `${objectPath(h.id)}/media${frag}`;
  } else if (o.modality === "image" && o.source) {
    const a = el("a");
    a.target = "_blank";
    a.rel = "noopener";
    const img = el("img", "thumb");
    img.alt = o.source.split("/").pop();
    img.loading = "lazy";
    a.href = `${objectPath(h.id)}/media`;
    img.addEventListener("error", () => thumbFailed(card, img));
    img.src = `${objectPath(h.id)}/thumbnail?size=256`;
    card.append(a);
    a.append(img);
  } else if (o.modality === "audio" && o.source) {
    const player = el("audio");
    player.controls = true;
    player.preload = "metadata";
    // A grouped hit plays from its best segment.
    const best = (h.segments && h.segments[0] && h.segments[0].object && h.segments[0].object.metadata) || md;
    const start = typeof best.segment_start === "number" ? best.segment_start : null;
    const end = typeof best.segment_end === "number" ? best.segment_end : null;
    if (start !== null) {
      card.append(el("div", "segment", `segment ${start.toFixed(1)}–${end !== null ? end.toFixed(1) : "?"} s`));
      player.addEventListener("loadedmetadata", () => {
        if (player.currentTime < start) player.currentTime = start;
      });
    }
    card.append(player);
    const frag = start !== null ? `#t=${start}${end !== null ? "," + end : ""}` : "";
    player.addEventListener("error", () => explainFailure(card, player.src, "the server could not serve this audio"));
    player.src = `${objectPath(h.id)}/media${frag}`;
  }
  if (h.segments && h.segments.length) {
    const list = el("ul", "segments");
    for (const sg of h.segments) {
      const sm = (sg.object && sg.object.metadata) || {};
      let where = `#${sg.id}`;
      if (typeof sm.segment_start === "number") where = `${sm.segment_start.toFixed(1)}–${(sm.segment_end ?? 0).toFixed(1)} s`;
      else if (typeof sm.chunk_start === "number") where = `characters ${sm.chunk_start}–${sm.chunk_end}`;
      const li = el("li", "", `${where} · ${sg.score.toFixed(4)}`);
      if (sg.object && sg.object.content && sg.object.content.text) li.title = sg.object.content.text;
      // A transcript segment's line: what was said in that time range.
      const said = sg.object && sg.object.text && sg.object.text.transcript;
      if (said) li.append(el("span", "transcript", ` “${said}”`));
      list.append(li);
    }
    card.append(list);
  }
  if (o.content && o.content.text) {
    const t = o.content.text;
    const snippet = t.length > 400 ? t.slice(0, 400) + "…" : t;
    if (typeof md.chunk_start === "number") card.append(el("div", "segment", `characters ${md.chunk_start}–${md.chunk_end}`));
    card.append(el("p", "snippet", snippet));
  }
  if (o.text && o.text.caption) card.append(el("p", "caption", o.text.caption));
  const src = o.source || o.key || `object ${h.id}`;
  const s = el("div", "source", src);
  s.title = src;
  card.append(s);
  if (Object.keys(md).length) {
    const d = el("details");
    d.append(el("summary", "", "metadata"), el("pre", "", JSON.stringify(md, null, 2)));
    card.append(d);
  }
  const more = el("button", "more", "More like this");
  more.type = "button";
  // The object itself would come first: leave it out.
  more.addEventListener("click", () => runSearch({ object: h.id }, `objects like #${h.id} (${src.split("/").pop()})`, { exclude: [h.id], mode: "vector" }));
  card.append(more);
  return card;
}

// ---- wiring --------------------------------------------------------------

function wire() {
  $("collection").addEventListener("change", (e) => selectCollection(e.target.value));
  $("search-form").addEventListener("submit", submitSearch);
  $("q-file").addEventListener("change", (e) => setFile(e.target.files[0] || null));
  $("q-clear").addEventListener("click", () => {
    $("q-file").value = "";
    setFile(null);
  });
  $("q-text").addEventListener("input", () => {
    if (state.file && $("q-text").value) {
      $("q-file").value = "";
      setFile(null);
    }
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("keydown", (e) => {
    if (e.target === drop && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      $("q-file").click();
    }
  });
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = e.dataTransfer.files[0];
    if (f) setFile(f);
  });
  $("add-filter").addEventListener("click", addFilterRow);
  $("more-results").addEventListener("click", () => {
    if (!state.last) return;
    $("k").value = String(2 * parseInt($("k").value, 10));
    runSearch(state.last.query, state.last.label, state.last.extra);
  });
  $("key-button").addEventListener("click", askForKey);
  $("key-cancel").addEventListener("click", () => $("key-dialog").close());
  $("key-form").addEventListener("submit", () => {
    const k = $("key-input").value.trim();
    if (k) sessionStorage.setItem(KEY, k);
    else sessionStorage.removeItem(KEY);
    clearError();
    start();
  });
}

async function start() {
  try {
    await mediaSession();
    await loadCollections();
  } catch (e) {
    showError(e);
  }
}

wire();
start();
