// The playground: conversations saved server-side, streamed replies, side-by-side comparison.
// Talks to /api/v1/chat/… (session + CSRF). No build step, no dependencies.
(() => {
  "use strict";

  const root = document.getElementById("playground");
  if (!root) return;
  const API = root.dataset.api.replace(/\/$/, ""); // …/api/v1/chat/conversations
  const $ = (id) => document.getElementById(id);
  const csrf = () => (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
  const PARAMS = ["temperature", "top_p", "max_tokens", "stop", "seed"];
  const readableError = (message) => window.ModelHubChatErrors.readable(message);
  // The page's words in the user's language (apps/chat/ui_strings.py), keyed by their English; `{name}` fills in.
  const STRINGS = JSON.parse(($("pg-strings") || {}).textContent || "{}");
  const t = (english, values = {}) =>
    (STRINGS[english] || english).replace(/\{(\w+)\}/g, (all, key) => (key in values ? String(values[key]) : all));
  // Model ids: an endpoint's name for its base model, `<endpoint>:<adapter>` for one of its LoRA adapters.
  const ADAPTERS = Object.fromEntries(JSON.parse($("pg-endpoints").textContent).map((e) => [e.name, e.adapters || []]));
  const LANE_SELECTS = [["pg-endpoint", "pg-model"], ["pg-compare-endpoint", "pg-compare-model"]];
  const splitModel = (model) => { const cut = model.indexOf(":"); return cut < 0 ? [model, ""] : [model.slice(0, cut), model.slice(cut + 1)]; };
  const allModels = () => Object.entries(ADAPTERS).flatMap(([name, adapters]) => [name, ...adapters.map((a) => `${name}:${a}`)]);

  const state = {
    conversation: null, // {id, title, endpoint_name, compare_endpoint_name, system_prompt, params}
    images: [], // data URLs waiting to be sent
    controllers: [], // AbortControllers of replies in flight
  };

  // ---------------------------------------------------------------- markdown (safe: escape first)
  const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

  function inline(text) {
    // `text` is already escaped. Code spans are cut out first so nothing inside them is formatted.
    const spans = [];
    text = text.replace(/`([^`\n]+)`/g, (_, code) => { spans.push(`<code>${code}</code>`); return `\u0000${spans.length - 1}\u0000`; });
    text = text
      .replace(/\*\*([^*\n]+)\*\*/g, "<strong>$1</strong>")
      .replace(/(^|[^*])\*([^*\n]+)\*/g, "$1<em>$2</em>")
      .replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g, '<a href="$2" target="_blank" rel="noopener noreferrer">$1</a>');
    return text.replace(/\u0000(\d+)\u0000/g, (_, i) => spans[Number(i)]);
  }

  function renderMarkdown(source) {
    const lines = escapeHtml(source).split("\n");
    const out = [];
    let paragraph = [], list = null, code = null;
    const flushParagraph = () => { if (paragraph.length) { out.push(`<p>${inline(paragraph.join("<br>"))}</p>`); paragraph = []; } };
    const flushList = () => { if (list) { out.push(`<${list.tag}>${list.items.map((i) => `<li>${inline(i)}</li>`).join("")}</${list.tag}>`); list = null; } };
    for (const line of lines) {
      if (code) {
        if (/^\s*```/.test(line)) { out.push(`<pre class="code"><code${code.lang ? ` data-lang="${code.lang}"` : ""}>${code.lines.join("\n")}</code></pre>`); code = null; }
        else code.lines.push(line);
        continue;
      }
      const fence = line.match(/^\s*```\s*([\w+-]*)/);
      if (fence) { flushParagraph(); flushList(); code = { lang: fence[1], lines: [] }; continue; }
      const heading = line.match(/^(#{1,4})\s+(.*)$/);
      if (heading) { flushParagraph(); flushList(); const level = Math.min(heading[1].length + 2, 6); out.push(`<h${level}>${inline(heading[2])}</h${level}>`); continue; }
      const bullet = line.match(/^\s*[-*+]\s+(.*)$/), numbered = line.match(/^\s*\d+[.)]\s+(.*)$/);
      if (bullet || numbered) {
        flushParagraph();
        const tag = bullet ? "ul" : "ol";
        if (!list || list.tag !== tag) { flushList(); list = { tag, items: [] }; }
        list.items.push((bullet || numbered)[1]);
        continue;
      }
      if (!line.trim()) { flushParagraph(); flushList(); continue; }
      flushList();
      paragraph.push(line);
    }
    if (code) out.push(`<pre class="code"><code>${code.lines.join("\n")}</code></pre>`); // still streaming
    flushParagraph(); flushList();
    return out.join("");
  }

  // ---------------------------------------------------------------- API
  async function api(path, options = {}) {
    const response = await fetch(path, {
      credentials: "same-origin",
      ...options,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), ...(options.headers || {}) },
    });
    if (response.status === 204) return null;
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw apiError(data, response.status);
    return data;
  }

  function apiError(data, status) {
    let message = data.message || t("Request failed (HTTP {status}).", { status });
    if (data.errors) {
      const details = Object.entries(data.errors).map(([field, msgs]) =>
        `${field}: ${Array.isArray(msgs) ? msgs.join(" ") : JSON.stringify(msgs)}`);
      if (details.length) message = `${message} ${details.join("; ")}`;
    }
    const error = new Error(message);
    error.status = status;
    return error;
  }

  function showError(message) {
    const box = $("pg-error");
    box.textContent = message ? readableError(message) : "";
    box.hidden = !message;
  }

  // ---------------------------------------------------------------- settings
  function readParams() {
    const params = {};
    for (const name of PARAMS) {
      const input = root.querySelector(`[data-param="${name}"]`);
      const raw = input.value.trim();
      if (!raw) continue;
      if (name === "stop") params.stop = raw.split("\n").map((s) => s.trim()).filter(Boolean);
      else if (name === "max_tokens" || name === "seed") params[name] = Number.parseInt(raw, 10);
      else params[name] = Number.parseFloat(raw);
      if (typeof params[name] === "number" && !Number.isFinite(params[name])) throw new Error(t("{label} must be a number.", { label: input.labels[0].textContent.trim() }));
    }
    return params;
  }

  function writeSettings(conversation) {
    $("pg-system").value = conversation.system_prompt || "";
    for (const name of PARAMS) {
      const value = (conversation.params || {})[name];
      const input = root.querySelector(`[data-param="${name}"]`);
      input.value = value === undefined || value === null ? "" : Array.isArray(value) ? value.join("\n") : value;
    }
    if (conversation.endpoint_name) chooseModel(0, conversation.endpoint_name);
    const comparing = Boolean(conversation.compare_endpoint_name);
    $("pg-compare").checked = comparing;
    if (comparing) chooseModel(1, conversation.compare_endpoint_name);
    applyCompare();
  }

  // ---------------------------------------------------------------- models (endpoint + adapter)
  function fillAdapters(lane) {
    // The chosen endpoint's models: its base model and each adapter; the select shows only when there is a choice.
    const [endpointId, modelId] = LANE_SELECTS[lane];
    const select = $(modelId), adapters = ADAPTERS[$(endpointId).value] || [];
    const keep = select.value;
    select.innerHTML = "";
    select.appendChild(new Option(t("Base model"), ""));
    for (const name of adapters) select.appendChild(new Option(t("Adapter: {name}", { name }), name));
    select.value = adapters.includes(keep) ? keep : "";
    $(`${modelId}-field`).hidden = adapters.length === 0;
  }

  function chooseModel(lane, model) {
    const [endpoint, adapter] = splitModel(model);
    const [endpointId, modelId] = LANE_SELECTS[lane];
    if (!(endpoint in ADAPTERS)) return;
    $(endpointId).value = endpoint;
    fillAdapters(lane);
    $(modelId).value = ADAPTERS[endpoint].includes(adapter) ? adapter : "";
  }

  function modelOf(lane) {
    const [endpointId, modelId] = LANE_SELECTS[lane];
    const adapter = $(modelId).value;
    return adapter ? `${$(endpointId).value}:${adapter}` : $(endpointId).value;
  }

  function wantedSettings() {
    return {
      endpoint_name: modelOf(0),
      compare_endpoint_name: $("pg-compare").checked ? modelOf(1) : "",
      system_prompt: $("pg-system").value,
      params: readParams(),
    };
  }

  function otherModel() {
    // Side by side compares two different models: the second lane moves off the first's choice,
    // to another endpoint when there is one, else to another adapter of the same endpoint.
    const first = modelOf(0);
    if (modelOf(1) !== first) return;
    const others = allModels().filter((m) => m !== first);
    const other = others.find((m) => splitModel(m)[0] !== splitModel(first)[0]) || others[0];
    if (other) chooseModel(1, other);
  }

  function imagesAccepted() {
    // "no" for a catalog model that reads text only; "unknown" lets the model server decide.
    const chosen = [$("pg-endpoint")];
    if ($("pg-compare").checked) chosen.push($("pg-compare-endpoint"));
    const textOnly = chosen.map((select) => select.selectedOptions[0]).filter((o) => o && o.dataset.images === "no");
    return { ok: textOnly.length === 0, names: textOnly.map((o) => o.value) };
  }

  function applyImages() {
    const { ok, names } = imagesAccepted();
    const input = $("pg-images"), note = $("pg-images-note");
    input.disabled = !ok;
    $("pg-attach").classList.toggle("is-disabled", !ok);
    $("pg-attach").setAttribute("aria-disabled", String(!ok));
    note.hidden = ok;
    note.textContent = ok ? "" : t(names.length > 1 ? "{names} read text only: images cannot be attached." : "{names} reads text only: images cannot be attached.",
      { names: names.join(t(" and ")) });
    if (!ok && state.images.length) { state.images = []; renderAttachments(); }
  }

  function applyCompare() {
    const comparing = $("pg-compare").checked;
    fillAdapters(0);
    fillAdapters(1);
    if (comparing) otherModel();
    $("pg-compare-field").hidden = !comparing;
    if (!comparing) $("pg-compare-model-field").hidden = true;
    root.querySelector('.pg-lane[data-lane="1"]').hidden = !comparing;
    $("pg-lanes").classList.toggle("pg-lanes-two", comparing);
    $("pg-lane-name-0").textContent = modelOf(0);
    $("pg-lane-name-1").textContent = comparing ? modelOf(1) : "";
    applyImages();
  }

  // ---------------------------------------------------------------- rendering
  function lanesInUse() { return $("pg-compare").checked ? [0, 1] : [0]; }

  function messageNode(role, endpointName) {
    const node = document.createElement("article");
    node.className = `pg-msg pg-msg-${role}`;
    node.innerHTML = `<div class="pg-msg-meta"><span class="pg-msg-role"></span></div><div class="pg-msg-body"></div><div class="pg-msg-stats muted small"></div>`;
    node.querySelector(".pg-msg-role").textContent = role === "user" ? t("You") : endpointName || t("Assistant");
    if (role === "assistant") {
      const copy = document.createElement("button");
      copy.type = "button";
      copy.className = "btn btn-ghost btn-sm pg-copy";
      copy.textContent = t("Copy");
      copy.setAttribute("aria-label", t("Copy this reply as markdown"));
      copy.addEventListener("click", () => navigator.clipboard.writeText(node.dataset.raw || "").then(() => {
        copy.textContent = t("Copied");
        setTimeout(() => { copy.textContent = t("Copy"); }, 1500);
      }));
      node.querySelector(".pg-msg-meta").appendChild(copy);
    }
    return node;
  }

  function setContent(node, content) {
    const body = node.querySelector(".pg-msg-body");
    node.dataset.raw = typeof content === "string" ? content : content.filter((p) => p.type === "text").map((p) => p.text).join("\n");
    if (typeof content === "string") { body.innerHTML = renderMarkdown(content); return; }
    const text = content.filter((p) => p.type === "text").map((p) => p.text).join("\n");
    body.innerHTML = renderMarkdown(text);
    const images = content.filter((p) => p.type === "image_url");
    if (images.length) {
      const strip = document.createElement("div");
      strip.className = "pg-msg-images";
      for (const part of images) {
        const img = document.createElement("img");
        img.src = part.image_url.url; img.alt = t("Attached image"); img.loading = "lazy";
        strip.appendChild(img);
      }
      body.appendChild(strip);
    }
  }

  function formatStats(s) {
    const bits = [];
    if (s.prompt_tokens != null) bits.push(t("{count} prompt tokens", { count: s.prompt_tokens }));
    if (s.completion_tokens != null) bits.push(t("{count} tokens", { count: s.completion_tokens }));
    if (s.ttft_ms != null) bits.push(`TTFT ${Math.round(s.ttft_ms)} ms`);
    if (s.tokens_per_second != null) bits.push(`${s.tokens_per_second.toFixed(1)} tok/s`);
    if (s.finish_reason === "cancelled") bits.push(t("stopped"));
    else if (s.finish_reason === "length") bits.push(t("cut at max tokens"));
    return bits.join(" · ");
  }

  function appendMessage(message) {
    const lanes = message.role === "user" ? lanesInUse() : [message.lane || 0];
    for (const lane of lanes) {
      const node = messageNode(message.role, message.endpoint_name);
      setContent(node, message.content);
      if (message.role === "assistant") {
        node.querySelector(".pg-msg-stats").textContent = formatStats(message);
        if (message.error) { node.classList.add("pg-msg-error"); node.querySelector(".pg-msg-body").textContent = readableError(message.error); }
      }
      $(`pg-log-${lane}`).appendChild(node);
      scrollDown(lane);
    }
  }

  function scrollDown(lane) { const log = $(`pg-log-${lane}`); log.scrollTop = log.scrollHeight; }

  function clearLogs() { $("pg-log-0").innerHTML = ""; $("pg-log-1").innerHTML = ""; }

  // ---------------------------------------------------------------- conversations
  async function loadList() {
    const data = await api(`${API}?page_size=100`);
    const list = $("pg-conversations");
    list.innerHTML = "";
    for (const c of data.results) {
      const item = document.createElement("li");
      item.className = "pg-conversation" + (state.conversation && state.conversation.id === c.id ? " is-active" : "");
      item.dataset.id = c.id;
      item.innerHTML = `<button type="button" class="pg-open"></button>
        <span class="pg-conversation-actions">
          <button type="button" class="btn btn-ghost btn-sm pg-rename"></button>
          <button type="button" class="btn btn-ghost btn-sm pg-delete"></button>
        </span>`;
      item.querySelector(".pg-rename").textContent = t("Rename");
      item.querySelector(".pg-delete").textContent = t("Delete");
      const open = item.querySelector(".pg-open");
      open.textContent = c.title;
      open.setAttribute("aria-label", t("Open conversation {title}", { title: c.title }));
      item.querySelector(".pg-rename").setAttribute("aria-label", t("Rename {title}", { title: c.title }));
      item.querySelector(".pg-delete").setAttribute("aria-label", t("Delete {title}", { title: c.title }));
      list.appendChild(item);
    }
    $("pg-history-empty").hidden = data.results.length > 0;
  }

  async function openConversation(id) {
    stopAll();
    const conversation = await api(`${API}/${id}`);
    state.conversation = conversation;
    writeSettings(conversation);
    clearLogs();
    for (const message of conversation.messages) appendMessage(message);
    history.replaceState(null, "", `?conversation=${id}`);
    markActive();
  }

  function markActive() {
    for (const item of document.querySelectorAll(".pg-conversation")) {
      item.classList.toggle("is-active", state.conversation && String(state.conversation.id) === item.dataset.id);
    }
  }

  function newConversation() {
    stopAll();
    state.conversation = null;
    clearLogs();
    showError("");
    history.replaceState(null, "", location.pathname);
    markActive();
    $("pg-input").focus();
  }

  function startRename(item) {
    const open = item.querySelector(".pg-open");
    const input = document.createElement("input");
    input.className = "input pg-rename-input";
    input.value = open.textContent;
    input.setAttribute("aria-label", t("New title"));
    open.replaceWith(input);
    input.focus(); input.select();
    const finish = async (save) => {
      if (!input.isConnected) return;
      const title = input.value.trim();
      if (save && title) {
        try { await api(`${API}/${item.dataset.id}`, { method: "PATCH", body: JSON.stringify({ title }) }); }
        catch (error) { showError(error.message); }
      }
      await loadList();
    };
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); finish(true); }
      if (e.key === "Escape") finish(false);
    });
    input.addEventListener("blur", () => finish(true));
  }

  async function deleteConversation(item) {
    const title = item.querySelector(".pg-open")?.textContent || "this conversation";
    if (!confirm(t("Delete “{title}”? This cannot be undone.", { title }))) return;
    await api(`${API}/${item.dataset.id}`, { method: "DELETE" });
    if (state.conversation && String(state.conversation.id) === item.dataset.id) newConversation();
    await loadList();
  }

  // ---------------------------------------------------------------- sending and streaming
  async function ensureConversation() {
    const wanted = wantedSettings();
    if (!state.conversation) {
      state.conversation = await api(API, { method: "POST", body: JSON.stringify(wanted) });
      history.replaceState(null, "", `?conversation=${state.conversation.id}`);
      return;
    }
    const c = state.conversation;
    const changed = c.endpoint_name !== wanted.endpoint_name || c.compare_endpoint_name !== wanted.compare_endpoint_name
      || c.system_prompt !== wanted.system_prompt || JSON.stringify(c.params || {}) !== JSON.stringify(wanted.params);
    if (changed) state.conversation = await api(`${API}/${c.id}`, { method: "PATCH", body: JSON.stringify(wanted) });
  }

  function busy(on) {
    $("pg-stop").hidden = !on;
    $("pg-send").disabled = on;
    $("pg-status").textContent = on ? t("Generating…") : "";
  }

  async function send() {
    const text = $("pg-input").value;
    if (!text.trim() && !state.images.length) return;
    showError("");
    try {
      await ensureConversation();
      const message = await api(`${API}/${state.conversation.id}/messages`, {
        method: "POST", body: JSON.stringify({ text, images: state.images }),
      });
      $("pg-input").value = "";
      state.images = [];
      renderAttachments();
      appendMessage(message);
    } catch (error) {
      showError(error.message);
      return;
    }
    busy(true);
    const stream = $("pg-stream").checked;
    await Promise.all(lanesInUse().map((lane) => reply(lane, stream)));
    busy(false);
    loadList().catch(() => {});
  }

  async function reply(lane, stream) {
    const endpointName = lane === 1 ? state.conversation.compare_endpoint_name : state.conversation.endpoint_name;
    const node = messageNode("assistant", endpointName);
    node.classList.add("is-streaming");
    const body = node.querySelector(".pg-msg-body"), stats = node.querySelector(".pg-msg-stats");
    body.innerHTML = '<span class="pg-typing"></span>';
    body.firstChild.setAttribute("aria-label", t("Waiting for the model"));
    $(`pg-log-${lane}`).appendChild(node);
    scrollDown(lane);

    const controller = new AbortController();
    state.controllers.push(controller);
    const started = performance.now();
    let text = "", reasoning = "", firstAt = null, deltas = 0, frame = 0;
    // Reasoning models stream their thinking apart from the answer: shown folded, never sent back.
    const render = (answer) => (reasoning
      ? `<details class="pg-reasoning"><summary>${escapeHtml(t("Reasoning"))}</summary>${renderMarkdown(reasoning)}</details>` : "") + renderMarkdown(answer);
    const paint = () => {
      frame = 0;
      body.innerHTML = render(text);
      const elapsed = firstAt ? (performance.now() - firstAt) / 1000 : 0;
      stats.textContent = `${t("{count} tokens", { count: deltas })} · TTFT ${Math.round(firstAt - started)} ms` + (elapsed > 0.2 && deltas > 1 ? ` · ${((deltas - 1) / elapsed).toFixed(1)} tok/s` : "");
      scrollDown(lane);
    };
    const finish = (message) => {
      if (frame) { cancelAnimationFrame(frame); frame = 0; }
      node.classList.remove("is-streaming");
      node.dataset.raw = text;
      if (message) {
        if (message.error) { node.classList.add("pg-msg-error"); body.textContent = readableError(message.error); }
        else body.innerHTML = render(message.content || text);
        stats.textContent = formatStats(message);
      }
    };

    try {
      const response = await fetch(`${API}/${state.conversation.id}/reply`, {
        method: "POST", credentials: "same-origin", signal: controller.signal,
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify({ lane, stream }),
      });
      if (!response.ok) throw apiError(await response.json().catch(() => ({})), response.status);
      if (!stream) { finish((await response.json()).message); return; }

      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "", saved = null;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const raw = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = raw.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).replace(/^ /, "")).join("\n");
          if (!data || data === "[DONE]") continue;
          const event = JSON.parse(data);
          if (event.object === "modelhub.message") { saved = event.message; continue; }
          if (event.error) throw new Error(event.error.message);
          for (const choice of event.choices || []) {
            const piece = (choice.delta && (choice.delta.content || choice.delta.reasoning_content)) || "";
            if (!piece) continue;
            if (firstAt === null) firstAt = performance.now();
            deltas += 1;
            text += choice.delta.content || "";
            reasoning += choice.delta.reasoning_content || "";
          }
          if (!frame) frame = requestAnimationFrame(paint);
        }
      }
      finish(saved);
    } catch (error) {
      if (frame) { cancelAnimationFrame(frame); frame = 0; }
      node.classList.remove("is-streaming");
      node.dataset.raw = text;
      if (error.name === "AbortError") {
        stats.textContent = `${t("{count} tokens", { count: deltas })} · ${t("stopped")}`;
        body.innerHTML = render(text) || '<p class="muted">Stopped before the first token.</p>';
      } else {
        node.classList.add("pg-msg-error");
        body.textContent = readableError(error.message);
        stats.textContent = "";
      }
    } finally {
      state.controllers = state.controllers.filter((c) => c !== controller);
    }
  }

  function stopAll() {
    for (const controller of state.controllers) controller.abort();
    state.controllers = [];
  }

  // ---------------------------------------------------------------- attachments
  function renderAttachments() {
    const box = $("pg-attachments");
    box.innerHTML = "";
    state.images.forEach((url, index) => {
      const item = document.createElement("span");
      item.className = "pg-attachment";
      item.innerHTML = '<img alt=""><button type="button" class="btn btn-ghost btn-sm"></button>';
      item.querySelector("img").alt = t("Attachment preview");
      item.querySelector("button").textContent = t("Remove");
      item.querySelector("img").src = url;
      item.querySelector("button").setAttribute("aria-label", t("Remove image {number}", { number: index + 1 }));
      item.querySelector("button").addEventListener("click", () => { state.images.splice(index, 1); renderAttachments(); });
      box.appendChild(item);
    });
  }

  $("pg-images").addEventListener("change", (event) => {
    for (const file of event.target.files) {
      if (state.images.length >= 4) { showError(t("Attach at most 4 images per message.")); break; }
      if (file.size > 5 * 1024 * 1024) { showError(t("{name} is larger than 5 MiB.", { name: file.name })); continue; }
      const reader = new FileReader();
      reader.onload = () => { state.images.push(reader.result); renderAttachments(); };
      reader.readAsDataURL(file);
    }
    event.target.value = "";
  });

  // ---------------------------------------------------------------- wiring
  $("pg-composer").addEventListener("submit", (e) => { e.preventDefault(); send(); });
  $("pg-input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); if (!$("pg-send").disabled) send(); }
  });
  $("pg-stop").addEventListener("click", stopAll);
  $("pg-new").addEventListener("click", newConversation);
  $("pg-compare").addEventListener("change", applyCompare);
  $("pg-endpoint").addEventListener("change", applyCompare);
  $("pg-compare-endpoint").addEventListener("change", applyCompare);
  $("pg-model").addEventListener("change", applyCompare);
  $("pg-compare-model").addEventListener("change", applyCompare);
  $("pg-conversations").addEventListener("click", (e) => {
    const item = e.target.closest(".pg-conversation");
    if (!item) return;
    if (e.target.closest(".pg-rename")) startRename(item);
    else if (e.target.closest(".pg-delete")) deleteConversation(item).catch((err) => showError(err.message));
    else if (e.target.closest(".pg-open")) openConversation(item.dataset.id).catch((err) => showError(err.message));
  });

  const query = new URLSearchParams(location.search);
  if (query.get("model")) chooseModel(0, query.get("model")); // "Open in playground" on an endpoint page
  applyCompare();
  const initial = query.get("conversation");
  loadList().then(() => (initial ? openConversation(initial) : null)).catch((err) => showError(err.message));
  window.ModelHubPlayground = { renderMarkdown }; // for tests
})();
