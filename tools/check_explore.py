"""Serve a run's explorer (`robust-prune explore`) and check the page in headless Chromium, with a screenshot.

    python tools/check_explore.py RUN_DIR [SCORES.npz ...] [--steps 2] [--shot explore.png]

The command is started as a user starts it, on a free port; once it prints the page's URL the page is opened and:

- the panel must be drawn: its four plotly figures, the last titled `Kept per class: K of N`;
- the kept-fraction slider is moved `--steps` steps to the right with the keyboard (its handle focused, → pressed),
  and the kept count must change, to the count of the fraction read out beside the slider (K = round(f N));
- the browser console must show no error: no `console.error`, no uncaught exception, no resource that failed to
  load, except stylesheets of another host that cannot be reached without a network (voila's page links its icon
  font from a CDN): those are listed apart, as `offline`.

It prints the seconds from the command's start to the URL and to the drawn panel, what the panel showed before and
after the slider moved, and the console's errors and warnings; the command is stopped (SIGTERM) at the end. It exits
with status 1 when a check fails. The browser driver is `tools/check_docs.py`'s.
"""
import argparse, base64, re, socket, subprocess, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_docs import Chromium, TRACES, _console, _evaluate, find_chromium

# what the panel shows: its drawn plotly figures, the kept count (the title of the bar chart of classes) and the
# kept fraction read out beside the slider
PANEL_JS = r"""(() => {
  const titles = [...document.querySelectorAll('.gtitle')].map(e => e.textContent);
  const readout = document.querySelector('.widget-slider .widget-readout');
  return {figures: [...document.querySelectorAll('.js-plotly-plot')].filter(g => g.querySelector('%s')).length,
          kept: titles.find(t => t.startsWith('Kept per class')) || null,
          fraction: readout ? readout.textContent.trim() : null,
          error: (document.querySelector('.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]')
                  || {}).textContent || null};
})()""" % TRACES

OFFLINE = ('net::ERR_NAME_NOT_RESOLVED', 'net::ERR_INTERNET_DISCONNECTED', 'net::ERR_PROXY_CONNECTION_FAILED')

def _panel(b:Chromium, session:str):
    "What the panel shows now; None while the page is loading"
    try: return _evaluate(b, session, PANEL_JS)
    except RuntimeError: return None

def _wait(b:Chromium, session:str, done, timeout:float):
    "Poll the panel until `done(panel)`, or the time is up; the last panel seen"
    deadline = time.monotonic() + timeout
    while True:
        panel = _panel(b, session)
        if (panel and done(panel)) or time.monotonic() > deadline: return panel
        time.sleep(0.25)

def _consistent(panel:dict):
    "Whether the kept count `K of N` is the kept fraction f read out beside the slider: K = round(f N)"
    k, n = map(int, re.search(r'(\d+) of (\d+)', panel['kept']).groups())
    return k == round(float(panel['fraction']) * n)

def check_panel(url:str, chromium:str|None=None, steps:int=2, shot:Path|None=None, timeout:float=180,
                width:int=1300):
    "Open the panel served at `url`, move the kept-fraction slider `steps` steps, and report what it showed"
    b = Chromium(find_chromium(chromium), timeout)
    try:
        target = b.send('Target.createTarget', url='about:blank')['targetId']
        session = b.send('Target.attachToTarget', targetId=target, flatten=True)['sessionId']
        for domain in ('Page', 'Runtime', 'Log'): b.send(f'{domain}.enable', session)
        b.send('Emulation.setDeviceMetricsOverride', session, width=width, height=1000, deviceScaleFactor=1,
               mobile=False)
        start = time.monotonic()
        b.send('Page.navigate', session, url=url)
        first = _wait(b, session, lambda p: p['figures'] >= 4 and p['kept'] or p['error'], timeout)
        seconds = time.monotonic() - start
        if not (first and first['kept']):
            raise RuntimeError(f"no panel at {url} after {timeout:.0f} s: {first}")
        _evaluate(b, session, "document.querySelector('.widget-slider .noUi-handle').focus()")
        for _ in range(steps):
            for kind in ('keyDown', 'keyUp'):
                b.send('Input.dispatchKeyEvent', session, type=kind, key='ArrowRight', code='ArrowRight',
                       windowsVirtualKeyCode=39)
        last = _wait(b, session, lambda p: p['kept'] != first['kept'] and _consistent(p), 60)
        time.sleep(0.5)
        errors, warnings = _console(b.events, session)
        offline = [e for e in errors if any(o in e for o in OFFLINE) and '//localhost' not in e]
        if shot:
            h = int(b.send('Page.getLayoutMetrics', session)['cssContentSize']['height'])
            b.send('Emulation.setDeviceMetricsOverride', session, width=width, height=h, deviceScaleFactor=1,
                   mobile=False)
            time.sleep(0.5)
            Path(shot).write_bytes(base64.b64decode(b.send('Page.captureScreenshot', session, format='png')['data']))
        return dict(seconds=seconds, kept=[first['kept'], last['kept']], fraction=[first['fraction'], last['fraction']],
                    errors=[e for e in errors if e not in offline], offline=offline, warnings=warnings)
    finally: b.close()

def free_port():
    "A port of localhost that no server listens on now"
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('run_dir', help='the run directory to explore')
    p.add_argument('scores', nargs='*', help='scores files (default: the run\'s dynamics scores)')
    p.add_argument('--steps', type=int, default=2, help='steps the kept-fraction slider is moved')
    p.add_argument('--shot', type=Path, help='save a screenshot of the panel, after the slider moved, here')
    p.add_argument('--chromium', help='the browser (default: $CHROMIUM or chromium on the PATH)')
    p.add_argument('--timeout', type=float, default=180, help='seconds the panel may take to be drawn')
    a = p.parse_args()
    port, start = free_port(), time.monotonic()
    proc = subprocess.Popen([sys.executable, '-c', 'import sys; from robust_prune.cli import main; sys.exit(main())',
                             'explore', a.run_dir, *a.scores, '--port', str(port), '--no-browser'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        if not line.endswith('(Ctrl-C stops it)'): proc.wait(60); sys.exit(f"robust-prune explore failed: {line}")
        served = time.monotonic() - start
        print(f'{line}\nURL printed {served:.1f} s after the command started')
        if a.shot: a.shot.parent.mkdir(parents=True, exist_ok=True)
        seen = check_panel(f'http://localhost:{port}/', a.chromium, a.steps, a.shot, a.timeout)
        print(f"panel drawn {seen['seconds']:.1f} s after the page was opened "
              f"({served + seen['seconds']:.1f} s after the command started)")
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=60)
    print(out.strip())
    print(f"kept: {seen['kept'][0]} at {seen['fraction'][0]}, then {seen['kept'][1]} at {seen['fraction'][1]}")
    for w in seen['warnings']: print(f'  warning: {w}')
    for o in seen['offline']: print(f'  offline: {o}')
    failed = [f'browser console: {e}' for e in seen['errors']]
    if seen['kept'][0] == seen['kept'][1]: failed.append('the kept count did not change with the slider')
    if proc.returncode != 0: failed.append(f'robust-prune explore ended with status {proc.returncode}: {err[-500:]}')
    if failed:
        print('\n'.join(['explorer check failed:'] + failed), file=sys.stderr)
        return 1
    print(f"no console errors{'; screenshot ' + str(a.shot) if a.shot else ''}")
    return 0

if __name__ == '__main__': sys.exit(main())
