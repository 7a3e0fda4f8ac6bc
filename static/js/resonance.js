/**
 * Resonance tracking snippet: the readable source of /r.js.
 *
 *   <script defer src="https://HOST/r.js" data-site="SITE_KEY"></script>
 *
 * static/js/build.sh minifies this file into r.min.js, which must stay at most
 * 2,048 bytes gzipped: keep code paths short and reuse the helpers below. (The
 * hash of this file goes to r.min.js.sha, not into the served bytes.)
 * Without data-site the snippet does nothing at all.
 *
 * Wire format (the contract with the collector): docs/beacon.md. Requests go to
 * the origin of this script's own src:
 *   GET  /e?s=SITE_KEY  -> {"m": "always" | "consented" | "anonymous"}
 *   POST /e             a batch: JSON as text/plain (sendBeacon, else fetch)
 *   GET  /r2.js         the extension (resonance-extras.js), an ES module
 *                       imported on the first tick: dead and error clicks (dd,
 *                       er), identify from forms, a new visitor id for a shared
 *                       browser (o) and a retry queue. See its header.
 *
 * Every field it sends:
 *   batch   s site key, v visitor id (only while storage is allowed),
 *           i 1 for a visitor marked internal, e events (oldest first)
 *   event   t type, id event id, ts Date.now(), p page-view id (= id on pv)
 *   pv      u URL (no fragment, only utm_* query keys), r referrer (optional),
 *           ti title, vw vh viewport, dh document height (these three read
 *           when the batch is sent, not at start)
 *   c       x y page coordinates, vw viewport width, s CSS selector (#id, else a
 *           tag[data-x="..."] hook, else a tag:nth-of-type(n) path from the
 *           nearest such anchor; at most 512 chars), fx fy click position in the
 *           element's box (0..1), tg tag, tx text ("" for a form field), h
 *           link href (optional), in interactive element
 *   s       d deepest scrollY + innerHeight, dh document height (the
 *           collector computes d / dh)
 *   l       sec [[level, heading, top, height], ...] of the h1-h3 sections
 *   a       ms active ms, a [[section index, active ms], ...] (cumulative)
 *   id      em e-mail address
 *
 * localStorage keys: rs_vid visitor id, and the flags rs_consent (consent
 * given), rs_optout (opted out), rs_internal (internal visitor); the extension
 * adds rs_who and rs_retry.
 *
 * It must never break or slow down the host page: every entry point catches its
 * own errors, nothing heavy runs at load (not even a layout read: the page's
 * first layout would land in the snippet's task), and layout is read at most
 * once a second (plus once per click and per batch holding a page view).
 *
 * Left out to stay within the size budget: waiting for the load event before
 * the section layout, a Math.random fallback for ids (crypto.getRandomValues is
 * everywhere) and escaping of odd site keys (they are URL-safe).
 */
(() => {
  try {
    const doc = document;
    const nav = navigator;
    const loc = location;
    const script = doc.currentScript;
    const site = script.dataset.site;
    if (!site) return;
    const origin = new URL(script.src).origin;
    const endpoint = origin + '/e';

    // ---- helpers --------------------------------------------------------------

    // Wrap a callback so that nothing it throws reaches the host page.
    const guard =
      (fn) =>
      (...args) => {
        try {
          fn(...args);
        } catch {}
      };

    // localStorage can be missing or throw (privacy modes, sandboxed frames).
    // store(key) reads, store(key, falsy) removes, store(key, value) writes.
    const store = (key, value) => {
      try {
        const ls = localStorage;
        return value == null ? ls[key] : value ? (ls[key] = value) : delete ls[key];
      } catch {}
    };

    // 96 random bits as the digits of three 32-bit numbers (about 28 chars).
    const randomId = () => crypto.getRandomValues(new Uint32Array(3)).join('');

    // Whole px in the collector's range 0..1,000,000: one number out of range
    // makes the collector refuse the whole batch.
    const px = (v) => Math.min(Math.max(v | 0, 0), 1e6);

    // A fraction 0..1 with 3 decimals; NaN (a zero-size box) -> 0.
    const frac = (v) => +Math.min(Math.max(v, 0), 1).toFixed(3) || 0;

    // The element's text content, whitespace collapsed, cut to max chars.
    const text = (el, max) => el.textContent.replace(/\s+/g, ' ').trim().slice(0, max);

    // Both read layout (as do scrollY, innerWidth and innerHeight), so none of
    // them is read at start: the page's first layout, 20-90 ms on a long page,
    // would land in the snippet's task and make it a long task.
    const docHeight = () => px(doc.documentElement.scrollHeight);
    const viewBottom = () => scrollY + innerHeight;
    // The URL without fragment, and with only the utm_* query keys.
    const cleanUrl = () =>
      (
        loc.origin +
        loc.pathname +
        loc.search.replace(/[?&](?!utm_)[^&]*/g, '').replace(/^&/, '?')
      ).slice(0, 2e3);

    // ---- state ----------------------------------------------------------------

    // consent, optout, internal: set by the commands of the same names.
    const FLAGS = ['consent', 'optout', 'internal'];
    const flags = {};
    for (const name of FLAGS) flags[name] = store('rs_' + name) && 1;
    let visitorId; // set only while the privacy mode allows storage
    const queue = [];
    let idleTicks; // ticks since the user last did something
    let ticks = 0;
    // The current page view: its id, cleaned URL and path, the deepest point
    // seen and its active ms (and the values last sent), its section layout
    // (0 until laid out) and the active ms per section index (sparse).
    let pageId, pageUrl, pagePath, depth, sentDepth, activeMs, sentMs;
    let sections, sectionMs;

    // ---- transport ------------------------------------------------------------

    // The extension's transport once loaded (a retry queue). Until then, or
    // without it: a string body goes as text/plain;charset=UTF-8 either way
    // (fetch sets that content type itself), so there is no CORS preflight.
    // sendBeacon may be missing, or refuse the body (false): then fetch, which
    // survives the page with keepalive. (Plain CORS mode: the collector echoes
    // the Origin back.)
    const send = (body) =>
      transport
        ? transport(body)
        : nav.sendBeacon?.(endpoint, body) ||
          fetch(endpoint, { method: 'POST', body, keepalive: true }).catch(() => {});

    // Batches of at most 50 events stay well under the collector's 64 KB (the
    // queue holds the events of about 5 s, see the tick).
    const flush = () => {
      while (queue[0])
        send(
          JSON.stringify({
            s: site,
            v: visitorId, // JSON.stringify leaves undefined keys out
            i: flags.internal || undefined,
            e: queue.splice(0, 50),
          })
        );
    };

    const enqueue = (type, fields) => {
      if (flags.optout) return;
      queue.push({ t: type, id: randomId(), ts: Date.now(), p: pageId, ...fields });
    };

    // Scroll depth and attention of the current page when changed since last
    // sent. Both are cumulative, so a lost or repeated one does no harm.
    const progress = () => {
      if (depth > sentDepth)
        enqueue('s', {
          d: px((sentDepth = depth)),
          dh: docHeight(), // (the collector computes the fraction d / dh)
        });
      if (activeMs > sentMs)
        enqueue('a', {
          ms: (sentMs = activeMs),
          a: sectionMs.flatMap((ms, i) => [[i, ms]]), // (flatMap skips the holes)
        });
    };

    // ---- extension ------------------------------------------------------------

    // /r2.js (resonance-extras.js) adds dead and error clicks, identify from
    // forms, new visitor ids for shared browsers and a retry queue. Imported on
    // the first tick, once the page has settled, or at once by identify. It gets
    // the queue and the helpers it needs and returns the transport that replaces
    // the beacon. If it fails to load, the core works on without it.
    let transport, extension;
    const loadExtension = () =>
      (extension ||= import(origin + '/r2.js')
        .then(
          (module) => (transport = module.default(queue, flush, flags, store, randomId))
        )
        .catch(() => {}));

    // ---- privacy --------------------------------------------------------------

    // The site's privacy mode, passed to whenModeKnown's callbacks. Until the
    // collector answers (or if it fails) we behave as anonymous; Global Privacy
    // Control and Do Not Track force anonymous.
    const modeKnown = fetch(endpoint + '?s=' + site)
      .then((response) => response.json())
      .then(
        (answer) => !nav.globalPrivacyControl && nav.doNotTrack != '1' && answer?.m,
        () => {}
      );
    const whenModeKnown = (fn) => modeKnown.then(guard(fn));

    // A visitor id, kept in storage, only in mode "always" or in "consented"
    // after consent; otherwise a stored one is removed.
    const applyMode = (mode) => {
      visitorId =
        mode == 'always' || (mode == 'consented' && flags.consent)
          ? store('rs_vid') || randomId()
          : undefined;
      store('rs_vid', visitorId || 0);
    };
    whenModeKnown(applyMode);

    // The collector drops an e-mail that comes without a visitor id. The
    // extension first: it starts a new visitor id when someone else identifies.
    const identify = (email) =>
      loadExtension().then(() =>
        whenModeKnown(() => {
          if (visitorId && email) {
            enqueue('id', { em: email.slice(0, 254) });
            flush();
          }
        })
      );

    // ---- page views -----------------------------------------------------------

    const startPage = (referrer = doc.referrer) => {
      pageId = randomId();
      pageUrl = cleanUrl();
      pagePath = loc.pathname;
      // The deepest point starts at 0, not at the fold: the collector takes the
      // fold from the page view, and reading scrollY here would lay out.
      depth = sentDepth = activeMs = sentMs = idleTicks = 0; // arriving counts as activity
      sections = 0; // laid out on the next tick
      sectionMs = [];
      enqueue('pv', {
        id: pageId,
        u: pageUrl,
        r: referrer.slice(0, 2e3) || undefined,
        ti: doc.title.slice(0, 1024),
        // The viewport and document sizes are read when the batch is sent
        // (JSON.stringify calls toJSON), not at start: see docHeight.
        toJSON() {
          return { ...this, vw: innerWidth, vh: innerHeight, dh: docHeight() };
        },
      });
    };

    // ---- clicks ---------------------------------------------------------------

    // The selector if no second element matches it. (Only selectors built from
    // the clicked element come here, and that one always matches.)
    const unique = (selector) => !doc.querySelectorAll(selector)[1] && selector;

    // A stable selector for el, tried in this order:
    //  - "#id" for a unique hand-written id (ids with digits are usually
    //    generated and change between builds);
    //  - tag[data-x="value"] for the first unique data-* hook whose name has only
    //    letters, - and _ (not data-v-7ba5bd90, not data-resonance-identify) and
    //    whose value has at most 40 chars and no digits (generated names and
    //    values change between builds);
    //  - the parent's selector followed by ">tag:nth-of-type(n)", i.e. a path
    //    from the nearest such anchor or from html.
    // CSS.escape keeps odd ids and quotes in values from making an invalid
    // selector, which would throw and lose the click.
    const selectorOf = (el) => {
      let n = 1;
      for (let sibling = el; (sibling = sibling.previousElementSibling); )
        n += sibling.localName == el.localName;
      let found = /^\D+$/.test(el.id) && unique('#' + CSS.escape(el.id));
      for (const { name, value } of el.attributes)
        found =
          found ||
          (/^data-(?!resonance-identify)[a-z_-]+=\D{0,40}$/.test(name + '=' + value) &&
            unique(el.localName + '[' + name + '="' + CSS.escape(value) + '"]'));
      return (
        found ||
        (el.parentElement ? selectorOf(el.parentElement) + '>' : '') +
          el.localName +
          ':nth-of-type(' +
          n +
          ')'
      );
    };

    const INTERACTIVE =
      'a,button,input,select,textarea,label,summary,[role=button],[role=link],[onclick]';

    const onClick = (event) => {
      // A click inside a link or button counts for the link or button.
      const hit = event.target.closest(INTERACTIVE);
      const el = hit || event.target;
      const box = el.getBoundingClientRect();
      // Keyboard clicks (Enter, Space) have no pointer position.
      const keyboard = !event.detail;
      enqueue('c', {
        x: px(event.pageX),
        y: px(event.pageY),
        vw: innerWidth,
        s: selectorOf(el).slice(-512), // (a longer one loses its start)
        fx: keyboard ? 0.5 : frac((event.clientX - box.x) / box.width),
        fy: keyboard ? 0.5 : frac((event.clientY - box.y) / box.height),
        tg: el.localName.toLowerCase().slice(0, 16),
        // Never what someone typed into a form field.
        tx: el.matches('input,select,textarea') ? '' : text(el, 60),
        h: el.href?.slice?.(0, 2e3) || undefined, // (an SVG link's href is no string)
        in: !!hit,
      });
    };

    // ---- events ---------------------------------------------------------------

    // One listener for everything, on window in the capture phase: it sees
    // clicks and submits before the host can stop them. Passive in effect: it
    // never cancels an event, and browsers make wheel listeners on window
    // passive by default. (No touchstart or pointerdown: a touch moves the
    // pointer, scrolls or clicks.)
    const onEvent = guard((event) => {
      const type = event.type;
      // A scroll, pointer, key or wheel event (or a click, a navigation...)
      // means that someone is there.
      idleTicks = 0;
      if (type == 'scroll') depth = Math.max(depth, viewBottom()); // cheap: numbers
      if (type == 'click') onClick(event);
      // Single-page apps: a new URL is a new page view (for replaceState only a
      // new path). The page left goes at once, its last scroll and attention
      // included, before its sizes (read when sent) are those of the next page.
      if (
        type == 'replaceState'
          ? loc.pathname != pagePath
          : /tate$/.test(type) && cleanUrl() != pageUrl // pushState, popstate
      ) {
        progress();
        flush();
        startPage(pageUrl);
      }
      // visibilitychange to hidden, pagehide: the page may be gone any moment.
      if (doc.hidden || type == 'pagehide') {
        progress();
        flush();
      }
    });
    'click scroll pointermove keydown wheel popstate visibilitychange pagehide'
      .split(' ')
      .map((type) => addEventListener(type, onEvent, true));
    // history.pushState and replaceState are reported as events of their own.
    ['pushState', 'replaceState'].map((type) => {
      const original = history[type];
      history[type] = function () {
        // The host's own call behaves exactly as before, errors included.
        const result = original.apply(this, arguments);
        onEvent({ type });
        return result;
      };
    });

    // ---- attention ------------------------------------------------------------

    setInterval(
      guard(() => {
        loadExtension();
        // The section layout, once per page view, on its first tick.
        if (!sections) {
          // Visible headings only; a section runs to the next heading, the last
          // one to the document end.
          const headings = [...doc.querySelectorAll('h1,h2,h3')]
            .filter((heading) => heading.offsetHeight)
            .slice(0, 200);
          const topOf = (heading) =>
            heading ? px(heading.getBoundingClientRect().y + scrollY) : docHeight();
          sections = headings.map((heading, i) => [
            +heading.tagName[1],
            text(heading, 200),
            topOf(heading),
            px(topOf(headings[i + 1]) - topOf(heading)),
          ]);
          if (sections[0]) enqueue('l', { sec: sections });
        }
        // Active: the tab is visible and the user did something in the last 10 s.
        // A section counts while it covers over 5 % of the viewport or over 80 %
        // of it is in view.
        if (!doc.hidden && idleTicks++ < 10) {
          activeMs += 1e3;
          sections.map(
            ([, , top, height], i) =>
              Math.min(viewBottom(), top + height) - Math.max(scrollY, top) >
                Math.min(innerHeight * 0.05, height * 0.8) &&
              (sectionMs[i] = ~~sectionMs[i] + 1e3)
          );
        }
        if (!(++ticks % 30)) progress();
        // Events wait about 5 s (4.5 to 5.5 s), so that a few go together: each
        // request costs the page a millisecond or two of main thread (see
        // bench/snippet.py). Leaving or hiding the page sends them at once.
        if (queue[0]?.ts < Date.now() - 4500) flush();
      }),
      1e3
    );

    // ---- commands -------------------------------------------------------------

    // resonance("identify", {email}) | ("consent", true|false) |
    // ("optout"[, false]) | ("internal"[, false])
    const api = guard((command, arg) => {
      if (command == 'identify') identify(arg.email);
      if (FLAGS.includes(command)) {
        const wasOut = flags.optout;
        // Kept when set, removed when not. (Consent itself may be kept: the
        // visitor gave it; "false" also removes the visitor id, see applyMode.)
        store('rs_' + command, (flags[command] = arg !== false && 1));
        if (flags.optout) queue.splice(0);
        // Back in: the page view that was dropped must go first.
        else if (wasOut) startPage();
        whenModeKnown(applyMode);
      }
    });

    // The host's stub queued calls in resonance.q. Replay them after the first
    // page view is queued: an "optout" among them still drops it, nothing has
    // been sent yet.
    const queued = window.resonance?.q || [];
    window.resonance = api;
    startPage();
    queued.map((args) => api(...args));
  } catch {}
})();
