/**
 * Resonance snippet extension: the readable source of /r2.js.
 *
 * What the core snippet (resonance.js, /r.js) can do without lives here, off
 * the page's critical path. The core imports this module on its first tick,
 * about a second after it started, or at once when an identify is queued; that
 * identify waits for it (or for its failure, or the page going away).
 * static/js/build.sh minifies it into r2.min.js.
 *
 *   export default (queue, flush, flags, store, randomId) => transport
 *
 * gets the core's event queue (oldest first), its flush(), its flags (consent,
 * optout, internal), its localStorage helper store(key[, value]) and its id
 * maker, and returns the transport that sends every batch from then on in place
 * of the core's sendBeacon. It adds:
 *
 *  - Dead and error clicks. A click waits 2.5 s for its verdict before it is
 *    queued: dead (dd) when no navigation, DOM change, scroll, form change or
 *    window focus change followed, whether the element is interactive or not
 *    (a button that does nothing is dead); error (er) when a JavaScript error
 *    or an unhandled rejection followed within 1 s. Never dead: a click with
 *    a modifier key (Ctrl, Cmd, Shift, Alt) or another button than the main
 *    one, a click that ends a drag-to-select or a multi-click selecting text
 *    (text is selected), a click into a form field, a label, editable content,
 *    media or a frame, a download link or a link to another window. When the
 *    page is hidden earlier the click goes at once with what is known (never
 *    dead).
 *  - Shared browsers. rs_who remembers whom the stored visitor id (rs_vid)
 *    belongs to: the id and a hash of the id with the normalised e-mail, never
 *    the e-mail. When a different e-mail identifies, the browser gets a fresh id
 *    and that batch names the previous one once as o: the collector records the
 *    conflict and keeps the first person's history apart.
 *  - A retry queue (outbox). Every batch stays in it until the collector
 *    answered for good: stored (2xx, also a 200 that lists some events as
 *    refused: the rest was stored, and the refused ones would be refused
 *    again), or refused whole with a 4xx other than 429. Batches go one at a
 *    time, oldest first; after a network error, a 429 or a 5xx the oldest is
 *    tried again on the next flush and when the browser is back online, and
 *    all of them on the next page load and when the page is hidden or goes
 *    away (then joined into one body where the collector's limits allow, so
 *    that none overtakes the batch of its page view on the way). The answer to
 *    a batch sent as the page goes away may never be seen: the next page load
 *    sends it again, and event ids make that harmless (the collector stores
 *    page views, clicks and identify once per id; scroll and attention are
 *    cumulative maxima). Kept in localStorage (rs_retry) only while the
 *    privacy mode lets the core keep a visitor id there, else in memory; never
 *    a batch holding an e-mail. At most 20 batches and 200,000 characters: the
 *    oldest go first.
 *
 * Like the core, it must never break or slow down the host page: every entry
 * point catches its own errors, and it observes the DOM only in the 2.5 s
 * after a click.
 */
const ENDPOINT = new URL('/e', import.meta.url).href;
const VERDICT_MS = 2500; // no DOM change, scroll or navigation this long: dead
const ERROR_MS = 1e3; // a JavaScript error this soon after a click: error click
const MAX_BATCHES = 20;
const MAX_CHARS = 2e5; // (over 3 full batches; localStorage holds megabytes)
const MAX_EVENTS = 500; // the collector's limits for one batch (its default
const MAX_BYTES = 60e3; // RESONANCE_MAX_BEACON_BYTES is 65,536)

// Wrap a callback so that nothing it throws reaches the host page.
const guard =
  (fn) =>
  (...args) => {
    try {
      return fn(...args);
    } catch {}
  };

// cyrb53 (public domain): a 53-bit string hash, plenty to tell two e-mail
// addresses of one browser apart, and no way back to the address.
const hash = (text) => {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
};

export default (queue, flush, flags, store, randomId) => {
  // ---- retry queue ------------------------------------------------------------

  let outbox = [];
  const inFlight = new Set();

  // The core keeps a visitor id in storage exactly when the privacy mode allows
  // storage: the extension's own keys follow it.
  const mayStore = () => store('rs_vid');

  // Write the outbox where allowed, without batches holding an e-mail; where
  // not, remove this extension's keys.
  const save = () => {
    const kept = mayStore() && outbox.filter((body) => !body.includes('"t":"id"'));
    store('rs_retry', (kept?.[0] && JSON.stringify(kept)) || 0);
    if (!kept) store('rs_who', 0);
  };

  const add = (body) => {
    outbox.push(body);
    while (outbox.length > MAX_BATCHES || outbox.join('').length > MAX_CHARS)
      outbox.shift();
    save();
  };

  // true once the collector answered for good: stored (2xx, even with some
  // events refused) or refused whole (4xx: the same bytes would be refused
  // again); false after a network error, a 429 (too many, for now) or a 5xx.
  const post = (body) =>
    fetch(ENDPOINT, { method: 'POST', body, keepalive: true }).then(
      ({ status }) => status < 500 && status != 429,
      () => false
    );

  // body: what to send; parts: the batches of the outbox it holds.
  const attempt = (body, parts = [body]) => {
    if (inFlight.has(body)) return;
    inFlight.add(body);
    post(body).then(
      guard((done) => {
        inFlight.delete(body);
        if (done) {
          outbox = outbox.filter((other) => !parts.includes(other));
          save();
          drain();
        }
      })
    );
  };

  // One batch at a time, oldest first, so that no batch arrives before the
  // batch of the page view it refers to (the collector would refuse it).
  const drain = () => {
    if (!inFlight.size && outbox[0]) attempt(outbox[0]);
  };

  // The outbox as few bodies as the collector takes, in order: consecutive
  // batches of one visitor (a batch naming a previous id, o, starts a body)
  // under MAX_EVENTS events and MAX_BYTES bytes. A batch that does not parse
  // (storage is the host page's too) goes as it is.
  const joined = () => {
    const bodies = [];
    let last;
    for (const body of outbox) {
      const bytes = new Blob([body]).size;
      try {
        const { e, o, ...head } = JSON.parse(body);
        const key = JSON.stringify(head);
        if (
          !o &&
          last?.key == key &&
          last.e.length + e.length <= MAX_EVENTS &&
          last.bytes + bytes <= MAX_BYTES
        ) {
          last.e.push(...e);
          last.parts.push(body);
          last.bytes += bytes;
          continue;
        }
        bodies.push((last = { key, head: { ...head, o }, e: [...e], parts: [body], bytes }));
      } catch {
        bodies.push((last = { parts: [body] }));
      }
    }
    return bodies.map(({ head, e, parts }) => [
      head ? JSON.stringify({ ...head, e }) : parts[0],
      parts,
    ]);
  };

  // ---- shared browsers --------------------------------------------------------

  // A fresh visitor id when the stored one (id) belongs to someone else than
  // the e-mail (else undefined); then remember whom the id in use belongs to.
  const successor = (id, email) => {
    const owner = (of) => of + ' ' + hash(of + ' ' + email.trim().toLowerCase());
    const previous = store('rs_who') || '';
    const fresh = previous.startsWith(id + ' ') && previous != owner(id) && randomId();
    if (fresh) store('rs_vid', fresh);
    store('rs_who', owner(fresh || id));
    return fresh;
  };

  // The batch as bodies to send, with the browser's current visitor id (another
  // tab, or an identify in this one, may have started a new one). At an
  // identify that starts a new id the batch is cut in two: what came before
  // stays with the previous id, the rest goes with the new one and names the
  // previous one (o), once.
  const stamp = (body) => {
    try {
      const batch = JSON.parse(body);
      const events = batch.e;
      const bodies = [];
      const id = mayStore();
      let start = 0;
      if (!batch.v || !id) return [body];
      batch.v = id;
      events.map((event, i) => {
        const fresh = event.t == 'id' && successor(batch.v, event.em);
        if (!fresh) return;
        if (i > start) bodies.push(JSON.stringify({ ...batch, e: events.slice(start, i) }));
        start = i;
        batch.o = batch.v;
        batch.v = fresh;
      });
      bodies.push(JSON.stringify({ ...batch, e: events.slice(start) }));
      return bodies;
    } catch {
      return [body];
    }
  };

  // As the page goes away the core flushes in its own pagehide or
  // visibilitychange listener, which runs before this extension's: then the
  // batch waits for leave (below), which sends it joined with the clicks still
  // waiting for their verdict, in one body where the limits allow. Sent at
  // once it would go twice. (window.event: the event being dispatched.)
  const transport = guard((body) => {
    stamp(body).map(add);
    if (!/^(visibilitychange|pagehide)$/.test(window.event?.type)) drain();
  });

  // ---- dead and error clicks --------------------------------------------------

  const waiting = new Set(); // clicks waiting for their verdict: {event, href, alive}
  const seen = new WeakSet(); // click events already taken from the queue
  queue.map((event) => seen.add(event)); // (queued before this module arrived)

  // Something happened: a DOM change, a scroll, a form change, the window lost
  // or got focus (a new window, a file dialog).
  const alive = () => waiting.forEach((click) => (click.alive = 1));
  const observer = new MutationObserver(alive);

  // The verdict: [the click event] to queue, or [] (already released, or the
  // visitor opted out meanwhile).
  const release = (click, final) => {
    if (!waiting.delete(click)) return [];
    const event = click.event;
    if (final && !click.alive && location.href == click.href) event.dd = true;
    if (!waiting.size) observer.disconnect();
    return flags.optout ? [] : [event];
  };

  // Where a click shows nothing by design, or leaves for another window.
  const CALM =
    'select,textarea,label,option,video,audio,canvas,iframe,embed,object,[download],' +
    '[target=_blank],input:not([type=submit],[type=button],[type=reset],[type=image])';

  // The core's capture listener on window runs before this one: the click it
  // just queued is the last event of the queue (none when the core left it
  // out: see its rage rule). dom: the browser's click event.
  const hold = (dom) => {
    const event = queue[queue.length - 1];
    if (event?.t != 'c' || seen.has(event)) return;
    seen.add(event);
    queue.pop();
    if (!waiting.size)
      observer.observe(document, {
        subtree: true,
        childList: true,
        attributes: true,
        characterData: true,
      });
    const click = {
      event,
      href: location.href,
      // Never dead: a modifier key or another button (a new tab, a menu),
      // selected text (drag-to-select, a double or triple click), see CALM.
      alive:
        dom.ctrlKey ||
        dom.metaKey ||
        dom.shiftKey ||
        dom.altKey ||
        dom.button ||
        !getSelection().isCollapsed ||
        dom.target.isContentEditable ||
        dom.target.closest(CALM),
    };
    waiting.add(click);
    setTimeout(guard(() => queue.push(...release(click, 1))), VERDICT_MS);
  };

  const failed = () =>
    waiting.forEach(
      (click) => Date.now() - click.event.ts < ERROR_MS && (click.event.er = true)
    );

  // The page may be gone any moment (the core has just flushed): the clicks
  // waiting go with what is known, and everything goes now, not one at a time:
  // joined, the batches in flight too (their answer may never be seen; event
  // ids make the repeat harmless). Sent apart they could overtake each other on
  // the way to the collector's processes, and a batch that arrives before the
  // batch of its page view is refused: an identify just before the visitor
  // leaves would be lost.
  const leave = (event) => {
    if (document.hidden || event.type == 'pagehide') {
      waiting.forEach((click) => queue.push(...release(click)));
      flush();
      joined().map(([body, parts]) => attempt(body, parts));
    }
  };

  // ---- events -----------------------------------------------------------------

  const listeners = {
    click: hold,
    scroll: alive, // capture: scrolls inside elements too
    change: alive,
    input: alive,
    visibilitychange: leave,
    pagehide: leave,
    online: drain,
  };
  for (const [type, listener] of Object.entries(listeners))
    addEventListener(type, guard(listener), true);
  // Not captured: the window's own focus changes (not its elements'), and
  // window's own error events are JavaScript errors (failed images and scripts
  // only pass through in the capture phase).
  addEventListener('blur', guard(alive));
  addEventListener('focus', guard(alive));
  addEventListener('error', guard(failed));
  addEventListener('unhandledrejection', guard(failed));

  // ---- start ------------------------------------------------------------------

  try {
    outbox = JSON.parse(store('rs_retry') || '[]')
      .filter((body) => typeof body == 'string')
      .slice(-MAX_BATCHES);
  } catch {}
  drain();
  return transport;
};
