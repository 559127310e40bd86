r"""Check pages of the static documentation (`tools/docs.py`) in headless Chromium, and screenshot them.

    python tools/docs.py --out _docs/site
    python tools/check_docs.py --site _docs/site --pages index.html analysis.html --shots _docs/shots

For each page (every `*.html` of the site when `--pages` is not given) the page is opened from disk and:

- every plotly figure must have been drawn: the page says how many figures it holds
  (`<meta name="plotly-figures">`, written by `tools/docs.py` from the notebook's plotly outputs), and as many
  `.js-plotly-plot` elements must each contain an SVG (`svg.main-svg`) with data traces drawn in it (trace
  groups, heatmaps, images or contours: WebGL traces such as `scattergl` are not counted);
- every axis a plotly figure shows must say what it measures: each `xaxis*`/`yaxis*` of the figure's
  `_fullLayout` that is visible needs a title, its own or one shared with the axes it `matches` (the panels of a
  grid with shared axes, plotly express's facets);
  plotly express's default titles (`value`, `variable`, `index`), raw column names (`clean_acc`), legend titles
  of that kind, legend entries named like columns, and facet labels such as `embedder=model` fail too, and so
  does a figure title that runs past the figure's right edge;
- no TeX may be left unrendered: visible text outside `code`, `pre`, `script` and `style` must not contain
  `$$`, `$\` or TeX commands such as `\frac`, `\sum`, `\mathbb` (`tools/docs.py` turns `$...$` into MathML);
- no code may be cut off: a `pre` wider than its box must wrap or scroll, not sit in an element that hides what
  overflows;
- the browser console must show no error: no `console.error`, no uncaught exception, no resource that failed
  to load (warnings are listed, not counted as failures);
- tables of numbers printed to five decimals or more, and tables with a column of NaN only, are listed as
  warnings;
- a full-page screenshot is saved as `SHOTS/<page>.png` (pages taller than `--max-height` are cut there).

The script exits with status 1 and a line per failure naming the page, the figure (by its title) and what failed.

It drives Chromium through the DevTools protocol over a pipe (`--remote-debugging-pipe`: JSON messages on file
descriptors 3 and 4), which needs no Python package beyond the standard library. Chromium is found as
`--chromium`, `$CHROMIUM`, or `chromium` on the PATH (Debian's `chromium` package); it runs with `--no-sandbox`,
as it must under root in containers.
"""
import argparse, base64, fcntl, json, os, re, shutil, subprocess, sys, tempfile, time
from pathlib import Path

root = Path(__file__).resolve().parents[1]

class Chromium:
    "A headless Chromium driven by the DevTools protocol over a pipe"
    def __init__(self, exe:str, timeout:float=60):
        self.timeout, self.profile, self.next_id, self.buf, self.events = timeout, tempfile.TemporaryDirectory(), 0, b'', []
        cmd_r, self.cmd_w = os.pipe()   # we write commands, Chromium reads them on fd 3
        self.res_r, res_w = os.pipe()   # Chromium writes replies and events on fd 4, we read them
        def fds():  # in the child: the two ends as fds 3 and 4, whatever their numbers here
            a, b = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10), fcntl.fcntl(res_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3); os.dup2(b, 4)
        self.log = open(Path(self.profile.name)/'chromium.log', 'wb')
        self.proc = subprocess.Popen(
            [exe, '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--mute-audio', '--no-first-run',
             '--no-default-browser-check', '--disable-extensions', '--disable-background-networking',
             '--remote-debugging-pipe', f'--user-data-dir={self.profile.name}', 'about:blank'],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, preexec_fn=fds, pass_fds=(3, 4))
        os.close(cmd_r); os.close(res_w)

    def _read(self, deadline):
        "The next message from Chromium"
        while b'\0' not in self.buf:
            if time.monotonic() > deadline: raise TimeoutError('no answer from Chromium')
            chunk = os.read(self.res_r, 1 << 20)
            if not chunk: raise RuntimeError(f'Chromium closed the pipe (log: {self._log_tail()})')
            self.buf += chunk
        msg, _, self.buf = self.buf.partition(b'\0')
        return json.loads(msg)

    def _log_tail(self):
        self.log.flush()
        return (Path(self.profile.name)/'chromium.log').read_text(errors='replace')[-2000:]

    def send(self, method:str, session:str|None=None, **params):
        "Send a command and wait for its result; events that arrive meanwhile are kept in `events`"
        self.next_id += 1
        msg = dict(id=self.next_id, method=method, params=params)
        if session: msg['sessionId'] = session
        os.write(self.cmd_w, json.dumps(msg).encode() + b'\0')
        deadline = time.monotonic() + self.timeout
        while True:
            m = self._read(deadline)
            if m.get('id') == self.next_id:
                if 'error' in m: raise RuntimeError(f"{method}: {m['error'].get('message')}")
                return m.get('result', {})
            self.events.append(m)

    def wait_event(self, method:str, session:str, timeout:float):
        "Wait for the event `method` on `session`"
        deadline = time.monotonic() + timeout
        seen = len(self.events)
        while True:
            for m in self.events[seen:]:
                if m.get('method') == method and m.get('sessionId') == session: return m
            seen = len(self.events)
            self.events.append(self._read(deadline))

    def close(self):
        try: self.send('Browser.close')
        except Exception: pass
        try: self.proc.wait(10)
        except subprocess.TimeoutExpired: self.proc.kill(); self.proc.wait()
        os.close(self.cmd_w); os.close(self.res_r); self.log.close(); self.profile.cleanup()

# what a drawn data trace leaves in a figure's SVG: a trace group (scatter, bar, histogram, box, pie...), a heatmap,
# an image or a contour; WebGL traces (scattergl) draw on a canvas instead and are not counted
TRACES = ', '.join(f'svg.main-svg g.{c}' for c in ('trace', 'hm', 'im', 'contour'))

FIGURES_JS = r"""(() => {
  const TRACES = '%s';
  const meta = document.querySelector('meta[name="plotly-figures"]');
  const drawn = [...document.querySelectorAll('.js-plotly-plot')].map(g => ({
    id: g.id, svg: g.querySelectorAll('svg.main-svg').length,
    traces: g.querySelectorAll(TRACES).length}));
  return {expected: meta ? Number(meta.content) : null, divs: document.querySelectorAll('.plotly-graph-div').length,
          plotly: typeof window.Plotly, drawn: drawn, title: document.title};
})()""" % TRACES

# a figure's axes, legend and title as drawn: what each says, read from plotly's `_fullLayout` (the layout with every
# default filled in) and the drawn title's box
LABELS_JS = r"""(() => {
  const strip = t => String(t ?? '').replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  const first = t => String(t ?? '').split(/<br\s*\/?>/i)[0];   // a title's first line, without its subtitle
  return [...document.querySelectorAll('.js-plotly-plot')].map(g => {
    const L = g._fullLayout || {}, axes = {}, dflt = L._dfltTitle || {};
    for (const k of Object.keys(L).filter(k => /^[xy]axis\d*$/.test(k))) {
      const a = L[k], text = a.title && a.title.text;   // an axis without a title holds plotly's placeholder
      axes[k] = {visible: a.visible !== false, title: text === dflt[k[0]] ? '' : strip(text),
                 matches: a.matches ? a.matches.replace(/^([xy])(\d*)$/, '$1axis$2') : null};
    }
    const svg = g.querySelector('svg.main-svg'), title = g.querySelector('.gtitle');
    const right = svg && title ? title.getBoundingClientRect().right - svg.getBoundingClientRect().right : 0;
    return {id: g.id, title: strip(first(L.title && L.title.text)), axes: axes,
            legend: L.showlegend ? strip(L.legend && L.legend.title && L.legend.title.text) : '',
            names: (g._fullData || []).filter(t => t.showlegend && t.visible !== false).map(t => strip(t.name)),
            annotations: (L.annotations || []).map(a => strip(a.text)), overflow: right};
  });
})()"""

# visible text that is TeX: `$$`, `$\cmd` or a TeX command with no renderer behind it; code and preformatted text
# (where `$` and backslashes are literal) and MathML are skipped
TEX_JS = r"""(() => {
  const commands = ['frac', 'dfrac', 'tfrac', 'sum', 'prod', 'int', 'sqrt', 'mathbb', 'mathrm', 'mathcal', 'mathbf',
    'operatorname', 'lVert', 'rVert', 'lvert', 'rvert', 'left', 'right', 'cdot', 'times', 'leq', 'geq', 'neq',
    'qquad', 'quad', 'Big', 'big', 'alpha', 'beta', 'gamma', 'delta', 'epsilon', 'varepsilon', 'rho', 'sigma',
    'lambda', 'mu', 'theta'];
  const tex = new RegExp('\\$\\$|\\$\\\\[A-Za-z]|\\\\(' + commands.join('|') + ')(?![A-Za-z])');
  const skip = 'code, pre, script, style, math, textarea';
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT), found = [];
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest(skip) || !el.getClientRects().length) continue;
    const m = tex.exec(n.textContent);
    if (m) found.push(n.textContent.slice(Math.max(0, m.index - 30), m.index + 40).replace(/\s+/g, ' ').trim());
  }
  return found;
})()"""

# code cut at the right edge: a `pre` wider than its box, inside an element that hides what overflows (rather
# than scrolling it); and tables of numbers printed to five decimals or more, or with a column of NaN only
LAYOUT_JS = r"""(() => {
  const clipped = [];
  for (const p of document.querySelectorAll('pre')) {
    if (p.scrollWidth <= p.clientWidth + 1 || !p.getClientRects().length) continue;
    for (let e = p; e && e !== document.body; e = e.parentElement) {
      const o = getComputedStyle(e).overflowX;
      if (o === 'auto' || o === 'scroll') break;
      if (o === 'hidden' || o === 'clip') {
        const line = p.textContent.split('\n').reduce((a, b) => b.length > a.length ? b : a, '');
        clipped.push(line.trim().slice(0, 60)); break;
      }
    }
  }
  const tables = [...document.querySelectorAll('table.dataframe')].map(t => {
    const rows = [...t.querySelectorAll('tbody tr')].map(
      r => [...r.querySelectorAll('td')].map(c => c.textContent.trim()));
    const long = rows.flat().filter(c => /^-?\d+\.\d{5,}$/.test(c));
    const n = rows.length ? Math.max(...rows.map(r => r.length)) : 0, nan = [];
    for (let j = 0; j < n; j++) if (rows.every(r => r[j] === 'NaN')) nan.push(j);
    const head = [...t.querySelectorAll('thead th')].map(c => c.textContent.trim()).filter(Boolean)
      .slice(0, 3).join(', ');
    return {head: head, long: long.slice(0, 2), nan: nan.length};
  }).filter(t => t.long.length || t.nan);
  return {clipped: clipped, tables: tables};
})()"""

DEFAULT_TITLES = {'value', 'variable', 'index'}   # what plotly express writes when it is not told
_column = re.compile(r'^[a-z][a-z0-9]*(_[a-z0-9]+)+$')     # a column's name, such as `clean_acc`
_facet = re.compile(r'^[A-Za-z_][\w ]*=\S')               # plotly express's facet label, such as `embedder=model`

def label_failures(fig:dict)->list:
    "What a figure read by `LABELS_JS` leaves unsaid: axes without titles, plotly express's defaults, a title cut off"
    name = f"figure '{fig['title'][:70]}'" if fig['title'] else f"figure {fig['id']} (no title)"
    out, axes = [], fig['axes']
    def bad(text): return text in DEFAULT_TITLES or bool(_column.match(text))
    def root(k):  # the axis at the end of `k`'s chain of `matches`: axes that match share one title
        seen = set()
        while axes.get(k, {}).get('matches') and k not in seen: seen.add(k); k = axes[k]['matches']
        return k
    titled = {root(k) for k, a in axes.items() if a['title']}
    order = sorted(axes, key=lambda k: (k[0], int(k[5:] or 1)))
    untitled = [k for k in order if axes[k]['visible'] and root(k) not in titled]
    if untitled: out.append(f"{name}: no title on {', '.join(untitled)}")
    out += [f"{name}: {k} is titled '{axes[k]['title']}' (a default or a column's name)" for k in order
            if axes[k]['visible'] and bad(axes[k]['title'])]
    if bad(fig['legend']): out.append(f"{name}: the legend is titled '{fig['legend']}' (a default or a column's name)")
    out += [f"{name}: legend entry '{n}' is a column's name or a default"
            for n in dict.fromkeys(fig['names']) if bad(n)]
    out += [f"{name}: facet label '{t}' (plotly express's default: name the facets)" for t in fig['annotations']
            if _facet.match(t)]
    if fig['overflow'] > 1: out.append(f"{name}: the title runs {fig['overflow']:.0f} px past the figure's right edge")
    return out

def _evaluate(b:Chromium, session:str, expr:str, promise=False):
    r = b.send('Runtime.evaluate', session, expression=expr, returnByValue=True, awaitPromise=promise)
    if 'exceptionDetails' in r: raise RuntimeError(r['exceptionDetails'].get('text'))
    return r['result'].get('value')

def _console(events, session):
    "The console's errors and warnings among `events` of `session`"
    errors, warnings = [], []
    for m in events:
        if m.get('sessionId') != session: continue
        p = m.get('params', {})
        if m['method'] == 'Runtime.exceptionThrown':
            d = p['exceptionDetails']
            errors.append('uncaught ' + (d.get('exception', {}).get('description') or d.get('text', '')).split('\n')[0])
        elif m['method'] == 'Runtime.consoleAPICalled' and p['type'] in ('error', 'assert', 'warning'):
            text = ' '.join(str(a.get('value', a.get('description', ''))) for a in p.get('args', []))
            (warnings if p['type'] == 'warning' else errors).append(f"console.{p['type']}: {text}")
        elif m['method'] == 'Log.entryAdded' and p['entry']['level'] in ('error', 'warning'):
            e = p['entry']
            (warnings if e['level'] == 'warning' else errors).append(f"{e['source']}: {e['text']} {e.get('url', '')}".strip())
    return errors, warnings

def check_page(b:Chromium, path:Path, shot:Path|None, width:int=1440, max_height:int=24000, timeout:float=30):
    "Open `path`, wait for its figures, and return (failures, summary); a screenshot to `shot`"
    target = b.send('Target.createTarget', url='about:blank')['targetId']
    session = b.send('Target.attachToTarget', targetId=target, flatten=True)['sessionId']
    try:
        for domain in ('Page', 'Runtime', 'Log'): b.send(f'{domain}.enable', session)
        b.send('Emulation.setDeviceMetricsOverride', session, width=width, height=900, deviceScaleFactor=1, mobile=False)
        start = len(b.events)
        b.send('Page.navigate', session, url=path.resolve().as_uri())
        b.wait_event('Page.loadEventFired', session, timeout)
        deadline = time.monotonic() + timeout
        while True:  # plotly draws after the load event: wait until every figure is drawn, or the time is up
            info = _evaluate(b, session, FIGURES_JS)
            ok = [d for d in info['drawn'] if d['svg'] and d['traces']]
            if info['expected'] is None or len(ok) >= info['expected'] or time.monotonic() > deadline: break
            time.sleep(0.25)
        _evaluate(b, session, 'new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))', promise=True)
        failures = []
        if info['expected'] is None:
            failures.append('no <meta name="plotly-figures">: not a page built by tools/docs.py')
        else:
            if info['expected'] and info['plotly'] != 'object': failures.append('plotly.js did not load (window.Plotly is undefined)')
            if info['divs'] != info['expected']:
                failures.append(f"{info['divs']} figure elements on the page, but {info['expected']} figures in the notebook")
            if len(ok) != info['expected']:
                bad = [d['id'] for d in info['drawn'] if not (d['svg'] and d['traces'])]
                failures.append(f"{len(ok)} of {info['expected']} plotly figures drawn (an SVG with data traces)"
                                + (f"; not drawn: {', '.join(bad)}" if bad else ''))
        for fig in _evaluate(b, session, LABELS_JS): failures += label_failures(fig)
        failures += [f'raw TeX in the text: "{t}"' for t in _evaluate(b, session, TEX_JS)]
        layout = _evaluate(b, session, LAYOUT_JS)
        failures += [f'code cut off at the right edge: "{t}"' for t in layout['clipped']]
        time.sleep(0.2)
        errors, warnings = _console(b.events[start:], session)
        for t in layout['tables']:
            places = len(t['long'][0].split('.')[1]) if t['long'] else 0
            what = [f"numbers to {places} decimals ({', '.join(t['long'])})"] if t['long'] else []
            what += [f"{t['nan']} column(s) of NaN only"] if t['nan'] else []
            warnings.append(f"table ({t['head']}...): {'; '.join(what)}")
        failures += [f'browser console: {e}' for e in errors]
        size = ''
        if shot:
            h = int(b.send('Page.getLayoutMetrics', session)['cssContentSize']['height'])
            b.send('Emulation.setDeviceMetricsOverride', session, width=width, height=min(h, max_height),
                   deviceScaleFactor=1, mobile=False)
            _evaluate(b, session, 'new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))', promise=True)
            png = b.send('Page.captureScreenshot', session, format='png')['data']
            shot.write_bytes(base64.b64decode(png))
            size = f', screenshot {shot.name} ({width}x{min(h, max_height)}{" cut from " + str(h) if h > max_height else ""})'
        drawn = f"{len(ok)}/{info['expected']} figures drawn" if info['expected'] is not None else 'figures not counted'
        summary = f"{drawn}, {len(errors)} console errors, {len(warnings)} warnings{size}"
        return failures, summary, warnings
    finally:
        b.send('Target.closeTarget', targetId=target)

def find_chromium(given=None):
    for c in (given, os.environ.get('CHROMIUM'), 'chromium', 'chromium-browser', 'google-chrome'):
        if c and shutil.which(c): return shutil.which(c)
    sys.exit('Chromium not found: install it (Debian: apt-get install chromium) or pass --chromium')

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--site', type=Path, required=True, help='the folder tools/docs.py wrote')
    p.add_argument('--pages', nargs='+', help='pages to check, relative to the site (default: every *.html)')
    p.add_argument('--shots', type=Path, default=root/'_docs'/'shots', help='folder for the screenshots (default: _docs/shots)')
    p.add_argument('--chromium', help='the browser (default: $CHROMIUM or chromium on the PATH)')
    p.add_argument('--width', type=int, default=1440, help='window width in CSS pixels')
    p.add_argument('--max-height', type=int, default=24000, help='screenshots are cut at this height')
    p.add_argument('--timeout', type=float, default=60, help='seconds a page may take to load and draw')
    a = p.parse_args()
    pages = a.pages or sorted(f.name for f in a.site.glob('*.html'))
    if not pages: sys.exit(f'no pages in {a.site}')
    a.shots.mkdir(parents=True, exist_ok=True)
    b, failed = Chromium(find_chromium(a.chromium), a.timeout), []
    try:
        for page in pages:
            path = a.site/page
            if not path.is_file(): failed.append(f'{page}: not in the site {a.site}'); continue
            fails, summary, warnings = check_page(b, path, a.shots/(Path(page).stem + '.png'), a.width, a.max_height, a.timeout)
            print(f'{page}: {summary}')
            for w in warnings: print(f'  warning: {w}')
            failed += [f'{page}: {f}' for f in fails]
    finally: b.close()
    if failed:
        print('\n'.join(['documentation check failed:'] + failed), file=sys.stderr)
        return 1
    print(f'{len(pages)} pages checked; screenshots in {a.shots}')
    return 0

if __name__ == '__main__': sys.exit(main())
