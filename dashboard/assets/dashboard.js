// Pilot's dashboard island: the pages work without it; it makes them live (WebSockets to
// Pilot's own origin), and drives the runtime log's filter, search and follow/pause.
const MAX_LOG_LINES = 2000;

function socketUrl(path) {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;
}

/** Opens a WebSocket and opens it again after a drop, unless the session ended (1008). */
function follow(path, onMessage, onState) {
  let delay = 500;
  let opened = false;
  const open = () => {
    const socket = new WebSocket(socketUrl(typeof path === 'function' ? path() : path));
    socket.addEventListener('open', () => {
      delay = 500;
      onState?.(opened ? 'reconnected' : 'live');
      opened = true;
    });
    socket.addEventListener('message', (message) => onMessage(JSON.parse(message.data)));
    socket.addEventListener('close', (closed) => {
      if (closed.code === 1008) { onState?.('signed out: reload to sign in again'); return; }
      onState?.('reconnecting…');
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 10000);
    });
  };
  open();
}

/** Fetches the page again and swaps its live regions in, leaving alone the one being used. */
let refreshing;
// A form sent: this page is about to be replaced by the form's answer.
let leaving = false;
document.addEventListener('submit', () => { leaving = true; });
function refresh() {
  clearTimeout(refreshing);
  refreshing = setTimeout(async () => {
    if (leaving) return;
    const answer = await fetch(location.pathname + location.search, { headers: { accept: 'text/html', 'x-pilot-refresh': '1' }, credentials: 'same-origin' });
    if (leaving) return;
    if (!answer.ok || answer.redirected) return;
    const fresh = new DOMParser().parseFromString(await answer.text(), 'text/html');
    for (const region of fresh.querySelectorAll('[data-live][id]')) {
      const current = document.getElementById(region.id);
      if (!current || current.contains(document.activeElement)) continue;
      current.replaceWith(document.adoptNode(region));
    }
  }, 250);
}

function appendBuild(build) {
  const logs = document.getElementById('build-logs');
  if (!logs) return;
  let pre = logs.querySelector(`pre[data-build="${build.version}"]`);
  if (!pre) {
    document.getElementById('building-heading')?.classList.remove('visually-hidden');
    const heading = document.createElement('h3');
    heading.textContent = `v${build.version}`;
    pre = document.createElement('pre');
    pre.className = 'log';
    pre.tabIndex = 0;
    pre.dataset.build = String(build.version);
    logs.append(heading, pre);
  }
  if (build.reset) pre.textContent = '';
  // The server rendered it with ansi_up: every byte of the log escaped, colours as classes.
  pre.insertAdjacentHTML('beforeend', build.html);
  pre.scrollTop = pre.scrollHeight;
  if (build.done) refresh();
}

function runtimeLog(list) {
  const type = document.getElementById('log-type');
  const search = document.getElementById('log-search');
  const button = document.getElementById('log-follow');
  const state = document.getElementById('log-state');
  let following = true;
  let held = [];
  const matches = (item) => {
    const wanted = type.value;
    const text = search.value.trim().toLowerCase();
    return (!wanted || item.dataset.type === wanted) && (!text || item.textContent.toLowerCase().includes(text));
  };
  const add = (line) => {
    const item = document.createElement('li');
    item.dataset.type = line.process.split('.')[0];
    const name = document.createElement('span');
    name.className = 'ps';
    name.textContent = line.process;
    const text = document.createElement('span');
    // Rendered by the server with ansi_up: the line's bytes escaped, its colours as classes.
    text.innerHTML = line.html;
    if (line.stream === 'stderr') text.className = 'stderr';
    item.append(name, text);
    item.hidden = !matches(item);
    list.append(item);
    while (list.children.length > MAX_LOG_LINES) list.firstElementChild.remove();
    if (!type.querySelector(`option[value="${CSS.escape(item.dataset.type)}"]`)) type.append(new Option(item.dataset.type, item.dataset.type));
  };
  const filter = () => { for (const item of list.children) item.hidden = !matches(item); };
  type.addEventListener('change', filter);
  search.addEventListener('input', filter);
  button.addEventListener('click', () => {
    following = !following;
    button.setAttribute('aria-pressed', String(following));
    button.textContent = following ? 'Following (pause)' : 'Paused (follow)';
    if (following) {
      for (const line of held) add(line);
      held = [];
      list.scrollTop = list.scrollHeight;
      state.textContent = '';
    }
  });
  let last;
  const path = () => (last ? `${list.dataset.stream}?after=${encodeURIComponent(last)}` : list.dataset.stream);
  follow(path, (line) => {
    last = line.time;
    if (!following) {
      held.push(line);
      state.textContent = `${held.length} new line${held.length === 1 ? '' : 's'} while paused`;
      return;
    }
    add(line);
    list.scrollTop = list.scrollHeight;
  }, (status) => { if (following) state.textContent = ['live', 'reconnected'].includes(status) ? '' : status; });
}

/**
 * Follows a page's events from the newest one it was rendered with (so what happened between its
 * render and its socket is not missed), and after a drop from the newest one heard.
 */
function followEvents(path, region, onMessage) {
  let after = region.dataset.eventsAfter || '0';
  follow(() => `${path}?after=${encodeURIComponent(after)}`, (message) => {
    if (message.event?.id) after = String(message.event.id);
    onMessage(message);
  }, (status) => { if (status === 'reconnected') refresh(); });
}

const appStatus = document.querySelector('#app-status[data-app]');
if (appStatus) {
  followEvents(`/apps/${encodeURIComponent(appStatus.dataset.app)}/live`, appStatus, (message) => {
    if (message.build) appendBuild(message.build);
    if (message.event) refresh();
  });
}
const appsRegion = document.getElementById('apps');
if (appsRegion) followEvents('/live', appsRegion, (message) => { if (message.event) refresh(); });
const logList = document.getElementById('log-lines');
if (logList) runtimeLog(logList);
