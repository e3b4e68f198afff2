// Local Slack emulator UI: live updates over Server-Sent Events, composer with @-autocomplete
// and slash commands, threads, buttons. All HTML comes pre-rendered (and escaped) from the server.
"use strict";

const config = JSON.parse(document.getElementById("config").textContent);
const $ = (id) => document.getElementById(id);
const messagesEl = $("messages");
const threadPane = $("thread-pane");
const threadMessagesEl = $("thread-messages");
let openThreadTs = "";

// --- talking to the emulator -------------------------------------------------------------------
async function api(path, body) {
  const response = await fetch("/_sandbox/" + path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({ ok: false, error: response.statusText }));
  if (!data.ok) toast(data.error || "Something went wrong");
  return data;
}

function toast(text) {
  const el = $("toast");
  el.textContent = text;
  el.classList.remove("hidden");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.add("hidden"), 4000);
}

// --- rendering helpers -------------------------------------------------------------------------
function fragment(html) {
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  return template.content.firstElementChild;
}

function nearBottom(el) {
  return el.scrollHeight - el.scrollTop - el.clientHeight < 80;
}

function upsert(container, html) {
  const node = fragment(html);
  if (!node) return;
  localizeTimes(node);
  const stick = nearBottom(container);
  const existing = container.querySelector("#" + CSS.escape(node.id));
  if (existing) {
    existing.replaceWith(node);
  } else {
    container.querySelector(".empty")?.remove();
    const after = [...container.children].find((c) => c.dataset.ts && c.dataset.ts > node.dataset.ts);
    container.insertBefore(node, after || null);
  }
  if (stick) container.scrollTop = container.scrollHeight;
}

function removeFrom(container, kind, ts) {
  container.querySelector("#" + CSS.escape(kind[0] + "-" + ts.replace(".", "-")))?.remove();
}

function localizeTimes(root) {
  root.querySelectorAll("time[data-ts]").forEach((t) => {
    const d = new Date(parseFloat(t.dataset.ts) * 1000);
    t.textContent = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    t.title = d.toLocaleString();
  });
}

// --- live updates ------------------------------------------------------------------------------
function connectEvents() {
  const source = new EventSource("/_sandbox/events?as=" + encodeURIComponent(config.as));
  let connectedOnce = false;
  source.onopen = () => {
    if (connectedOnce) resync();
    // Opening Home sends app_home_opened once we listen, so the published view shows up.
    else if (config.home) api("open_home", { user: config.as, tab: "home" });
    connectedOnce = true;
  };
  source.onmessage = (e) => handleChange(JSON.parse(e.data));
}

function handleChange(c) {
  if (c.kind === "reset") return location.reload();
  if (c.kind === "connection") return showConnection(c.connections, c.notice);
  if (c.channel !== config.channel) return;
  if (c.kind === "home") {
    if (config.home) $("home").innerHTML = c.html;
    return;
  }
  const inOpenThread = openThreadTs && (c.thread_ts === openThreadTs || c.ts === openThreadTs);
  if (c.kind === "status") {
    if (c.ts === openThreadTs) $("thread-status").textContent = c.text;
    return;
  }
  if (c.kind === "ephemeral" || c.kind === "ephemeral_removed") {
    const container = c.thread_ts ? (c.thread_ts === openThreadTs ? threadMessagesEl : null) : messagesEl;
    if (!container) return;
    if (c.kind === "ephemeral_removed" || !c.html) removeFrom(container, "ephemeral", c.ts);
    else upsert(container, c.html);
    return;
  }
  if (c.kind === "deleted" && !c.html) {
    removeFrom(c.is_reply ? threadMessagesEl : messagesEl, "message", c.ts);
    if (c.ts === openThreadTs) closeThread();
  } else if (c.is_reply) {
    if (inOpenThread && c.html) upsert(threadMessagesEl, c.html);
  } else if (c.html) {
    upsert(messagesEl, c.html);
    if (c.ts === openThreadTs && c.thread_html) upsert(threadMessagesEl, c.thread_html);
  }
  if (c.parent_html) upsert(messagesEl, c.parent_html);
}

function showConnection(n, notice) {
  const noticeEl = $("app-notice");
  if (noticeEl && notice !== undefined) noticeEl.textContent = notice || "";
  const el = $("bot-state");
  if (!el || el.textContent.startsWith("HTTP")) return;
  const name = config.mentionTargets[0]?.name || "The bot";
  el.textContent = n ? `● ${name} connected` : `○ ${name} disconnected`;
  el.className = "bot-state " + (n ? "on" : "off");
  // A reply still marked as streaming is not being written while the app is away.
  document.body.classList.toggle("bot-off", !n);
  document.body.classList.toggle("bot-on", !!n);
}

async function resync() {
  const query = `channel=${encodeURIComponent(config.channel)}&as=${encodeURIComponent(config.as)}`;
  const html = await (await fetch("/_sandbox/ui/messages?" + query)).text();
  messagesEl.innerHTML = html;
  localizeTimes(messagesEl);
  if (openThreadTs) openThread(openThreadTs);
}

// --- threads -----------------------------------------------------------------------------------
async function openThread(ts) {
  const query = new URLSearchParams({ channel: config.channel, ts, as: config.as });
  const response = await fetch("/_sandbox/ui/thread?" + query);
  if (!response.ok) return toast("That thread is gone.");
  const data = await response.json();
  openThreadTs = data.ts;
  threadMessagesEl.innerHTML = data.html;
  localizeTimes(threadMessagesEl);
  $("thread-status").textContent = data.status;
  threadPane.classList.remove("hidden");
  threadMessagesEl.scrollTop = threadMessagesEl.scrollHeight;
  const url = new URL(location.href);
  url.searchParams.set("thread", openThreadTs);
  history.replaceState(null, "", url);
  $("thread-text").focus();
}

function closeThread() {
  openThreadTs = "";
  threadPane.classList.add("hidden");
  const url = new URL(location.href);
  url.searchParams.delete("thread");
  history.replaceState(null, "", url);
}

// --- composer ----------------------------------------------------------------------------------
async function send(textarea, threadTs) {
  const text = textarea.value.trim();
  if (!text) return;
  const slash = text.match(/^(\/\S+)\s*([\s\S]*)$/);
  if (slash && !threadTs) {
    if (!config.commands.includes(slash[1])) {
      return toast(`${slash[1]} is not a valid command. Try ${config.commands.join(", ") || "none"}.`);
    }
    textarea.value = "";
    autosize(textarea);
    const result = await api("slash", { user: config.as, channel: config.channel,
                                        command: slash[1], text: slash[2] });
    if (result.ok && !result.acked && result.error) toast(`${slash[1]} failed: ${result.error}`);
    return;
  }
  textarea.value = "";
  autosize(textarea);
  const result = await api("post", { user: config.as, channel: config.channel, text,
                                     thread_ts: threadTs || null });
  if (!result.ok) textarea.value = text;
}

function autosize(textarea) {
  textarea.style.height = "auto";
  textarea.style.height = Math.min(textarea.scrollHeight, 200) + "px";
}

function wireComposer(form, textarea, threadTsFn) {
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    send(textarea, threadTsFn());
  });
  textarea.addEventListener("keydown", (e) => {
    if (autocomplete.handleKey(e, textarea)) return;
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send(textarea, threadTsFn());
    }
  });
  textarea.addEventListener("input", () => {
    autosize(textarea);
    autocomplete.update(textarea);
  });
  textarea.addEventListener("blur", () => setTimeout(() => autocomplete.hide(), 150));
}

// --- @-autocomplete ----------------------------------------------------------------------------
const autocomplete = {
  el: $("autocomplete"),
  options: [],
  selected: 0,
  target: null,
  query(textarea) {
    const before = textarea.value.slice(0, textarea.selectionStart);
    const m = before.match(/(^|\s)@([\w.\- ]{0,20})$/);
    return m ? m[2] : null;
  },
  update(textarea) {
    const q = this.query(textarea);
    if (q === null) return this.hide();
    const lower = q.toLowerCase();
    this.options = config.mentionTargets
      .filter((t) => t.name.toLowerCase().startsWith(lower) || t.real_name.toLowerCase().startsWith(lower))
      .slice(0, 8);
    if (!this.options.length) return this.hide();
    this.target = textarea;
    this.selected = 0;
    this.render();
    const box = textarea.getBoundingClientRect();
    this.el.style.left = box.left + "px";
    this.el.style.bottom = window.innerHeight - box.top + 8 + "px";
    this.el.classList.remove("hidden");
  },
  render() {
    this.el.replaceChildren(...this.options.map((t, i) => {
      const row = document.createElement("div");
      row.className = "opt" + (i === this.selected ? " sel" : "");
      row.setAttribute("role", "option");
      const name = document.createElement("b");
      name.textContent = t.name;
      const sub = document.createElement("span");
      sub.className = "sub";
      sub.textContent = t.is_app ? "App" : t.real_name;
      row.append(name, sub);
      row.addEventListener("mousedown", (e) => { e.preventDefault(); this.choose(i); });
      return row;
    }));
  },
  choose(i) {
    const textarea = this.target;
    const pos = textarea.selectionStart;
    const before = textarea.value.slice(0, pos).replace(/@([\w.\- ]{0,20})$/, "@" + this.options[i].name + " ");
    textarea.value = before + textarea.value.slice(pos);
    textarea.selectionStart = textarea.selectionEnd = before.length;
    this.hide();
    textarea.focus();
  },
  hide() { this.el.classList.add("hidden"); this.options = []; },
  handleKey(e, textarea) {
    if (!this.options.length || this.target !== textarea) return false;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      this.selected = (this.selected + (e.key === "ArrowDown" ? 1 : this.options.length - 1)) % this.options.length;
      this.render();
    } else if (e.key === "Enter" || e.key === "Tab") {
      this.choose(this.selected);
    } else if (e.key === "Escape") {
      this.hide();
    } else {
      return false;
    }
    e.preventDefault();
    return true;
  },
};

// --- clicks ------------------------------------------------------------------------------------
document.addEventListener("click", async (e) => {
  const threadOpener = e.target.closest("[data-open-thread]");
  if (threadOpener) return openThread(threadOpener.dataset.openThread);
  const stop = e.target.closest("[data-stop]");
  if (stop) {
    stop.disabled = true;
    return api("stop_stream", { channel: config.channel, ts: stop.dataset.stop });
  }
  const button = e.target.closest("button[data-action-id]");
  if (button) {
    const msg = button.closest(".msg");
    button.disabled = true;
    await api("click", { user: config.as, channel: config.channel, ts: msg.dataset.ts,
                         action_id: button.dataset.actionId, block_id: button.dataset.blockId,
                         value: button.dataset.value });
    button.disabled = false;
  }
});

// A static_select on the Home tab: the choice goes out as block_actions.
document.addEventListener("change", async (e) => {
  const select = e.target.closest("select.static-select[data-action-id]");
  if (!select || !select.value) return;
  select.disabled = true;
  await api("select_home", { user: config.as, action_id: select.dataset.actionId,
                             block_id: select.dataset.blockId, value: select.value });
  select.disabled = false;
});

$("close-thread").addEventListener("click", closeThread);
$("show-setup").addEventListener("click", () => $("setup").classList.toggle("hidden"));
$("as-user").addEventListener("change", (e) => {
  const url = new URL(location.href);
  url.searchParams.set("as", e.target.value);
  url.searchParams.delete("thread");
  location.href = url.toString();
});
wireComposer($("composer"), $("composer-text"), () => "");
wireComposer($("thread-composer"), $("thread-text"), () => openThreadTs);

localizeTimes(document);
messagesEl.scrollTop = messagesEl.scrollHeight;
connectEvents();
if (config.openThread) openThread(config.openThread);
if (!config.home) $("composer-text").focus();
