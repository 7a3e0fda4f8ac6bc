/**
 * Resonance tracking snippet: the readable source of /r.js.
 *
 *   <script defer src="https://HOST/r.js" data-site="SITE_KEY"></script>
 *
 * static/js/build.sh minifies this file into r.min.js and fails when it grows
 * over its gzip budget (see there): keep code paths short and reuse the helpers
 * below. (The hash of this file goes to r.min.js.sha, not into the served
 * bytes.) Without data-site the snippet does nothing at all; a second copy of it
 * on the same page (two tags) does nothing either.
 *
 * Wire format (the contract with the collector): docs/beacon.md. Requests go to
 * the origin of this script's own src:
 *   GET  /e?s=SITE_KEY  -> {"m": "always" | "consented" | "anonymous"}
 *   POST /e             a batch: JSON as text/plain (sendBeacon, else fetch)
 *   GET  /r2.js         the extension (resonance-extras.js), an ES module
 *                       imported on the first tick: dead and error clicks (dd,
 *                       er), a new visitor id for a shared browser (o) and a
 *                       retry queue. See its header.
 *
 * Every field it sends:
 *   batch   s site key, v visitor id (only while storage is allowed),
 *           i 1 for a visitor marked internal, e events (oldest first)
 *   event   t type, id event id, ts Date.now(), p page-view id (= id on pv)
 *   pv      u URL (no fragment, only utm_* query keys), r referrer (optional),
 *           ti title, vw vh viewport, dh document height (these four read
 *           when the batch is sent, not at start)
 *   c       x y page coordinates, vw viewport width, s CSS selector (#id, else a
 *           tag[data-x="..."] hook, else a tag:nth-of-type(n) path from the
 *           nearest such anchor; at most 512 chars), fx fy click position in the
 *           element's box (0..1), tg tag, tx text ("" for a form field or
 *           editable content), h link href (optional), in interactive element
 *   s       d deepest scrollY + innerHeight, dh document height (the
 *           collector computes d / dh)
 *   l       sec [[level, heading, top, height], ...] of the h1-h3 sections
 *   a       ms active ms, a [[section index, ms], ...], b [[band index, ms],
 *           ...] per 100 px band of the document (all cumulative)
 *   id      em e-mail address, nm name and co company (optional)
 * Text, titles and URLs go through scrub(): nothing that looks like a payment
 * card number or an e-mail address leaves the page.
 *
 * localStorage keys: rs_vid visitor id, and the flags rs_consent (consent
 * given), rs_optout (opted out), rs_internal (internal visitor); the extension
 * adds rs_who and rs_retry (removed with rs_vid).
 *
 * It must never break or slow down the host page: every entry point catches its
 * own errors, nothing heavy runs at load (not even a layout read: the page's
 * first layout would land in the snippet's task), and layout is read at most
 * once a second (plus once per click, per window focus change and per batch
 * holding a page view; the scroll position on every scroll).
 *
 * Left out to save bytes: waiting for the load event before the section
 * layout, a Math.random fallback for ids (crypto.getRandomValues is
 * everywhere) and escaping of odd site keys (they are URL-safe).
 */
(() => {
  try {
    const win = window;
    const doc = document;
    const nav = navigator;
    const loc = location;
    const script = doc.currentScript;
    const site = script.dataset.site;
    // Twice on a page (a tag in the template and one from a tag manager):
    // the first copy counts, the second does nothing.
    if (!site || win.__resonance) return;
    win.__resonance = 1;
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

    const now = Date.now;

    // 96 random bits as the digits of three 32-bit numbers (about 28 chars).
    const randomId = () => crypto.getRandomValues(new Uint32Array(3)).join('');

    // Whole px in the collector's range 0..1,000,000: one number out of range
    // makes the collector refuse the whole batch.
    const px = (v) => Math.min(Math.max(v | 0, 0), 1e6);

    // A fraction 0..1 with 3 decimals; NaN (a zero-size box) -> 0.
    const frac = (v) => +Math.min(Math.max(v, 0), 1).toFixed(3) || 0;

    // Luhn's checksum, as card numbers carry it: the digits from the right,
    // every second one doubled (less 9 above 9), add up to a multiple of 10.
    const luhn = (digits) => {
      let sum = 0;
      for (let i = digits.length, double = 0; i--; double = !double) {
        const digit = digits[i] * (double ? 2 : 1);
        sum += digit > 9 ? digit - 9 : digit;
      }
      return !(sum % 10);
    };

    // Nothing that looks like an e-mail address (also percent-encoded, as in a
    // URL) or a payment card number: 13 to 19 digits passing Luhn's check,
    // whole or in groups split by a space, dash, + or %20 (in a URL). A run of
    // such groups holding one is masked whole ("Order 12 4111 1111 1111 1111");
    // a longer number without separators is no card. And no NUL, which makes
    // the collector refuse the whole batch.
    const scrub = (value) =>
      value
        .replace(/\0/g, '')
        .replace(/[\w.+%-]+(@|%40)[\w-]+(\.[\w-]+)+/gi, '[email]')
        .replace(/\d((%20|[ +-])?\d){12,}/g, (run) => {
          const groups = run.split(/%20|[ +-]/);
          for (let first = 0; first < groups.length; first++)
            for (let last = first, digits = ''; last < groups.length; last++)
              if ((digits += groups[last]).length > 12 && digits.length < 20 && luhn(digits))
                return '[card]';
          return run;
        });

    // A URL scrubbed and cut to the collector's 2,000 chars, never inside a
    // percent escape (the collector's decoding would choke on "...%E").
    const cut = (url) => scrub(url).slice(0, 2e3).replace(/%.?$/, '');

    // The element's text content, whitespace collapsed, scrubbed, cut to max
    // chars; nothing for a form field or editable content (what someone
    // typed), nor for an element holding editable content.
    const text = (el, max) =>
      el.isContentEditable ||
      el.matches('input,select,textarea') ||
      el.querySelector('[contenteditable]')
        ? ''
        : scrub(el.textContent.replace(/\s+/g, ' ').trim()).slice(0, max);

    // Both read layout (as do scrollY, innerWidth and innerHeight), so none of
    // them is read at start: the page's first layout, 20-90 ms on a long page,
    // would land in the snippet's task and make it a long task.
    const docHeight = () => px(doc.documentElement.scrollHeight);
    const viewBottom = () => scrollY + innerHeight;
    // The URL without fragment, and with only the utm_* query keys.
    const cleanUrl = () =>
      cut(
        loc.origin + loc.pathname + loc.search.replace(/[?&](?!utm_)[^&]*/g, '').replace(/^&/, '?')
      );

    // ---- state ----------------------------------------------------------------

    // consent, optout, internal: set by the commands of the same names.
    const FLAGS = ['consent', 'optout', 'internal'];
    const flags = {};
    for (const name of FLAGS) flags[name] = store('rs_' + name) && 1;
    let visitorId; // set only while the privacy mode allows storage
    const queue = [];
    let inputAt; // when the user last did something
    let countedAt; // up to when active time is counted
    let wasActive; // the tab visible and focused, as it was at countedAt
    let ticks = 0;
    let lastClick = []; // [ts, x, y] of the last click queued
    // The current page view: its id, cleaned URL and path, the deepest point
    // seen (and the value last sent), its active ms (and the value last sent),
    // its section layout (0 until laid out), and the active ms per section
    // index and per 100 px band of the document (sparse).
    let pageId, pageUrl, pagePath, depth, sentDepth, activeMs, sentMs;
    let sections, sectionMs, bandMs;
    let pageView; // its pv event
    let title = doc.title; // the title, as last seen before a navigation
    let view; // the viewport's [top, bottom] in the page when last counted
    let pageHeight = 1e6; // the document's height as read on the last tick

    // ---- transport ------------------------------------------------------------

    // The extension's transport once loaded (a retry queue). Until then, or
    // without it: a string body goes as text/plain;charset=UTF-8 either way
    // (fetch sets that content type itself), so there is no CORS preflight.
    // sendBeacon may be missing, throw (a host page or an extension replaced
    // it) or refuse the body (false, over the browser's quota): then fetch,
    // which survives the page with keepalive, and without keepalive when that
    // quota is used up too. (Plain CORS mode: the collector echoes the Origin.)
    const send = (body) => {
      const post = (keepalive) => fetch(endpoint, { method: 'POST', body, keepalive });
      if (transport) return transport(body);
      try {
        if (nav.sendBeacon(endpoint, body)) return;
      } catch {}
      post(1).catch(() => post().catch(() => {}));
    };

    // The queue as batches of at most 50 events and under 60,000 bytes each:
    // the collector refuses a body over 64 KiB whole. (Counted in UTF-8 bytes,
    // which is never less than the characters.) An event too big for a batch
    // of its own is dropped rather than block the queue: only a section layout
    // of very long non-Latin headings can be (clicks, page views and attention
    // are bounded well below).
    const flush = () => {
      const head =
        JSON.stringify({ s: site, v: visitorId, i: flags.internal || undefined }).slice(0, -1) +
        ',"e":[';
      let events, size;
      const post = () => {
        if (events?.[0]) send(head + events + ']}');
        events = [];
        size = head.length + 2;
      };
      post();
      for (const event of queue.splice(0)) {
        const json = JSON.stringify(event);
        const bytes = new Blob([json]).size + 1; // (and its comma)
        if (size + bytes > 6e4 || events.length > 49) post();
        if (size + bytes <= 6e4) {
          events.push(json);
          size += bytes;
        }
      }
      post();
    };

    const enqueue = (type, fields) => {
      const event = { t: type, id: randomId(), ts: now(), p: pageId, ...fields };
      if (!flags.optout) queue.push(event);
      return event;
    };

    // Scroll depth and attention of the current page when changed since last
    // sent. Both are cumulative, so a lost or repeated one does no harm.
    const progress = () => {
      const ms = Math.round(activeMs);
      const pairs = (list) => list.flatMap((value, i) => [[i, Math.round(value)]]); // (skips holes)
      if (depth > sentDepth)
        enqueue('s', {
          d: px((sentDepth = depth)),
          dh: docHeight(), // (the collector computes the fraction d / dh)
        });
      if (ms > sentMs) enqueue('a', { ms: (sentMs = ms), a: pairs(sectionMs), b: pairs(bandMs) });
    };

    // ---- extension ------------------------------------------------------------

    // /r2.js (resonance-extras.js) adds dead and error clicks, new visitor ids
    // for shared browsers and a retry queue. Imported on the first tick, once
    // the page has settled, or at once by identify. It gets the queue and the
    // helpers it needs and returns the transport that replaces the beacon. If it
    // fails to load, the core works on without it.
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
    // after consent; otherwise a stored one is removed, and with it what the
    // extension keeps about it.
    const applyMode = (mode) => {
      visitorId =
        mode == 'always' || (mode == 'consented' && flags.consent)
          ? store('rs_vid') || randomId()
          : undefined;
      for (const key of ['rs_vid', 'rs_who', 'rs_retry'])
        if (!visitorId || key == 'rs_vid') store(key, visitorId || 0);
    };
    whenModeKnown(applyMode);

    // An identify the collector would refuse is never sent (it used to refuse
    // the whole batch, page view included): the address must be
    // something@something.tld without spaces, quotes or <>, at most 254 chars
    // (the collector's rule); name and company are optional, at most 200.
    // Only with a visitor id (the collector drops an e-mail without one). The
    // extension first, when it can come: it starts a new visitor id when
    // someone else identifies in this browser. If the page goes away before
    // it came, the identify goes with sendBeacon as the page is hidden.
    const identify = (email, name, company) => {
      const field = (value) => (value && (value + '').trim().slice(0, 200)) || undefined;
      email = (email + '').trim();
      if (email.length < 255 && /^[^@\s<>"]+@[^@\s<>"]+\.[^@\s<>"]+$/.test(email))
        whenModeKnown(() => {
          if (visitorId) {
            enqueue('id', { em: email, nm: field(name), co: field(company) });
            loadExtension().then(flush);
          }
        });
    };

    // A form marked data-resonance-identify: its e-mail, name and company
    // fields, read as it is submitted (before it navigates or resets).
    const identifyForm = (form) => {
      const value = (selector) => form.querySelector(selector)?.value;
      if (form.matches('[data-resonance-identify]'))
        identify(
          value('[type=email],[autocomplete=email],[name*=email i],[id*=email i]'),
          value(
            '[autocomplete=name],[name=name i],[id=name i],[name*=full i][name*=name i],[id*=full i][id*=name i]'
          ),
          value(
            '[autocomplete=organization],[name*=company i],[name*=organi i],[id*=company i],[id*=organi i]'
          )
        );
    };

    // ---- page views -----------------------------------------------------------

    const startPage = (referrer = doc.referrer) => {
      pageId = randomId();
      pageUrl = cleanUrl();
      pagePath = loc.pathname;
      // The deepest point starts at 0, not at the fold: the collector takes the
      // fold from the page view, and reading scrollY here would lay out.
      depth = sentDepth = activeMs = sentMs = 0;
      inputAt = now(); // arriving counts as activity
      account(1);
      sections = view = 0; // laid out and read on the next tick
      sectionMs = [];
      bandMs = [];
      pageView = enqueue('pv', {
        id: pageId,
        u: pageUrl,
        r: (referrer && cut(referrer)) || undefined,
        // The title, viewport and document sizes are read when the batch is
        // sent (JSON.stringify calls toJSON), not at start: see docHeight. A
        // single-page app sets the title of a new route after pushState (then
        // ti is set as the page is left: see onEvent).
        toJSON() {
          return {
            ti: scrub(doc.title).slice(0, 1024),
            ...this,
            vw: innerWidth,
            vh: innerHeight,
            dh: docHeight(),
          };
        },
      });
    };

    // ---- attention ------------------------------------------------------------

    // Visible headings only; a section runs to the next heading, the last one
    // to the document end.
    const layOut = () => {
      const headings = [...doc.querySelectorAll('h1,h2,h3')]
        .filter((heading) => heading.offsetHeight)
        .slice(0, 200);
      const topOf = (heading) =>
        heading ? px(heading.getBoundingClientRect().y + scrollY) : docHeight();
      const layout = headings.map((heading, i) => [
        +heading.tagName[1],
        text(heading, 200),
        topOf(heading),
        px(topOf(headings[i + 1]) - topOf(heading)),
      ]);
      if (layout[0]) enqueue('l', { sec: layout });
      return layout;
    };

    // The viewport's top and bottom in the page (the bottom no lower than the
    // document's end, as read on the last tick).
    const viewport = () => {
      const top = Math.max(scrollY, 0);
      return [top, Math.min(top + innerHeight, pageHeight)];
    };

    // Counts the time since the last call when it was active: the tab visible
    // and focused (every change of either calls this first, so the state held
    // throughout) and the user did something in the last 10 s. Each active
    // millisecond is divided among the sections on screen by the share of the
    // viewport each covers (so they add up to the active time whenever one is
    // on screen), and goes to every 100 px band of the document on screen
    // weighted by how much of the band was (so a band wholly on screen gets all
    // of it, and a section's time is that of its bands times 100 px over the
    // viewport height). Every scroll calls this too, so the interval counts
    // where the viewport was during it (as read at its start).
    const account = (starting) => {
      const at = now();
      const ms = Math.min(at, inputAt + 1e4) - countedAt;
      if (!starting) {
        sections ||= layOut();
        const [top, bottom] = (view ||= viewport());
        if (wasActive && ms > 0) {
          const overlaps = sections.map(([, , y, height]) =>
            Math.max(Math.min(bottom, y + height) - Math.max(top, y), 0)
          );
          const covered = overlaps.reduce((sum, part) => sum + part, 0);
          activeMs += ms;
          overlaps.map(
            (part, i) => part && (sectionMs[i] = (sectionMs[i] || 0) + (ms * part) / covered)
          );
          for (let band = (top / 100) | 0; band * 100 < bottom && band < 1e3; band++)
            bandMs[band] =
              (bandMs[band] || 0) +
              (ms * (Math.min(bottom, band * 100 + 100) - Math.max(top, band * 100))) / 100;
        }
        view = viewport();
      }
      countedAt = at;
      wasActive = !doc.hidden && doc.hasFocus();
    };

    // ---- clicks ---------------------------------------------------------------

    // The selector if no second element matches it. (Only selectors built from
    // the clicked element come here, and that one always matches.)
    const unique = (selector) => !doc.querySelectorAll(selector)[1] && selector;

    // A stable selector for el, tried in this order:
    //  - "#id" for a unique hand-written id (ids with digits are usually
    //    generated and change between builds; none with an @);
    //  - tag[data-x="value"] for the first unique data-* hook whose name has only
    //    letters, - and _ (not data-v-7ba5bd90, not data-resonance-identify) and
    //    whose value has at most 40 chars and no digits (generated names and
    //    values change between builds) and no @ (an e-mail address);
    //  - the parent's selector followed by ">tag:nth-of-type(n)", i.e. a path
    //    from the nearest such anchor or from html.
    // CSS.escape keeps odd ids and quotes in values from making an invalid
    // selector, which would throw and lose the click.
    const selectorOf = (el) => {
      let n = 1;
      for (let sibling = el; (sibling = sibling.previousElementSibling); )
        n += sibling.localName == el.localName;
      let found = /^[^\d@]+$/.test(el.id) && unique('#' + CSS.escape(el.id));
      for (const { name, value } of el.attributes)
        found =
          found ||
          (/^data-(?!resonance-identify)[a-z_-]+=[^\d@]{0,40}$/.test(name + '=' + value) &&
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
      const x = px(event.pageX);
      const y = px(event.pageY);
      const [lastTs, lastX, lastY] = lastClick;
      // Keyboard clicks (Enter, Space) have no pointer position.
      const keyboard = !event.detail;
      const tx = text(el, 60);
      // Repeated clicks that are no rage clicks by definition go as one (the
      // collector counts 3 clicks within 1 s and 30 px as rage): on a stepper
      // (a number field, a spin button, a button labelled + or -), the 2nd and
      // 3rd click of a multi-click that selects text, clicks in editable
      // content and form fields other than buttons. Within 1 s and 30 px of the
      // last click queued, such a click is left out.
      if (
        now() - lastTs < 1e3 &&
        Math.abs(x - lastX) + Math.abs(y - lastY) < 30 &&
        (event.target.closest('input[type=number],[role=spinbutton]') ||
          /^([+\u2212\u2013-]1?|plus|minus|(in|de)cre(ase|ment)( .*)?)$/i.test(
            el.getAttribute('aria-label') || tx
          ) ||
          (event.detail > 1 && !getSelection().isCollapsed) ||
          el.isContentEditable ||
          el.matches('textarea,select,input:not([type=submit],[type=button],[type=reset],[type=image])'))
      )
        return;
      lastClick = [now(), x, y];
      enqueue('c', {
        x,
        y,
        vw: innerWidth,
        s: selectorOf(el).slice(-512), // (a longer one loses its start)
        fx: keyboard ? 0.5 : frac((event.clientX - box.x) / box.width),
        fy: keyboard ? 0.5 : frac((event.clientY - box.y) / box.height),
        tg: el.localName.toLowerCase().slice(0, 16),
        tx, // never what someone typed: see text
        h: (typeof el.href == 'string' && cut(el.href)) || undefined, // (not an SVG link's)
        in: !!hit,
      });
    };

    // ---- events ---------------------------------------------------------------

    // One listener for everything, on window in the capture phase: it sees
    // clicks and submits before the host can stop them. Passive in effect: it
    // never cancels an event, and browsers make wheel listeners on window
    // passive by default. (No touchstart or pointerdown: a touch moves the
    // pointer, scrolls or clicks.) Focus and blur are the window's own (not
    // captured: those of elements would come too).
    const onEvent = guard((event) => {
      const type = event.type;
      // The title of the page being left by a single-page-app navigation is
      // the one seen before it: the app's own popstate listener may have set
      // the next one already, and some set it before pushState.
      if (!/tate$/.test(type)) title = doc.title;
      // visibilitychange to hidden, pagehide: the page may be gone any moment.
      const hiding = doc.hidden || type == 'pagehide';
      // Single-page apps: a new URL is a new page view (for replaceState only a
      // new path).
      const navigating =
        type == 'replaceState'
          ? loc.pathname != pagePath
          : /tate$/.test(type) && cleanUrl() != pageUrl; // pushState, popstate
      // The time so far, counted in the state and place it was in. After pagehide
      // nothing counts (visibilitychange follows at once).
      if (hiding || navigating || /^(blur|focus|vis|scroll)/.test(type)) account();
      if (type == 'pagehide') wasActive = 0;
      // A scroll, pointer, key or wheel event (or a click, a navigation...)
      // means that someone is there.
      inputAt = now();
      if (type == 'scroll') depth = Math.max(depth, viewBottom()); // cheap: numbers
      if (type == 'click') onClick(event);
      if (type == 'submit') identifyForm(event.target);
      // The page left goes at once, its last scroll and attention included,
      // before its sizes and title (read when sent) are those of the next page.
      if (navigating) {
        pageView.ti = scrub(title).slice(0, 1024);
        progress();
        flush();
        startPage(pageUrl);
        // The new route's title, once the app has set it (the title is also
        // seen on every event and tick).
        setTimeout(() => (title = doc.title));
      }
      if (hiding) progress();
      // Back online: what waited goes now (without the extension nothing else
      // would send it before the page is hidden).
      if (hiding || type == 'online') flush();
    });
    'click scroll pointermove keydown wheel popstate visibilitychange pagehide submit online'
      .split(' ')
      .map((type) => addEventListener(type, onEvent, true));
    ['blur', 'focus'].map((type) => addEventListener(type, onEvent));
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

    // Every second: the extension (once), the active time, scroll and
    // attention every 30 s, and the events of about 5 s (4.5 to 5.5 s) go
    // together, so that a few go in one request: each costs the page a
    // millisecond or two of main thread (see bench/snippet.py). Leaving or
    // hiding the page sends them at once. Offline they wait for the online
    // event.
    setInterval(
      guard(() => {
        loadExtension();
        title = doc.title;
        pageHeight = docHeight();
        account();
        if (!(++ticks % 30)) progress();
        if (nav.onLine && queue[0]?.ts < now() - 4500) flush();
      }),
      1e3
    );

    // ---- commands -------------------------------------------------------------

    // resonance("identify", {email[, name, company]}) | ("consent", true|false) |
    // ("optout"[, false]) | ("internal"[, false])
    const api = guard((command, arg) => {
      if (command == 'identify') identify(arg.email, arg.name, arg.company);
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
    // been sent yet. A window.resonance that is not the stub (a function
    // whose source names resonance.q) is the host's own: it is left alone, and
    // this snippet's commands are not reachable (marked forms still work).
    const host = win.resonance;
    const free = !host || (typeof host == 'function' && /resonance\.q/.test(host));
    if (free) win.resonance = api;
    startPage();
    if (free) host?.q?.map((args) => api(...args));
  } catch {}
})();
