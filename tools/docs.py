"""Build the documentation as static HTML pages that a browser shows offline.

The real site is built by Quarto (the GitHub workflow runs `nbdev-docs`). This script builds a local equivalent
where Quarto is not installed, from the same processed notebooks:

    python tools/docs.py --out _docs/site                              # every notebook of nbs/
    python tools/docs.py --out _docs/site --only index.ipynb 18_puma.ipynb

1. The project's configuration and notebooks are copied into a temporary folder, and nbdev processes them there
   (`nbdev.serve.proc_nbs`, the step `nbdev-proc-nbs` runs, without its attempt to install Quarto): directives
   applied, hidden cells dropped, `show_doc` rendered as Markdown, names linked to their documentation. Nothing
   is written into the repository.
2. nbconvert's `HTMLExporter` (the `lab` template) turns each processed notebook into a page, with
   `SitePreprocessor` doing Quarto's share of the work: the front matter becomes the page's title and
   description, cell options (`#| echo: false`, `#| output: false`, `#| include: false`) are applied, pandoc's
   link attributes (`[source](url){target="_blank"}`) become HTML, links to the published site point to the
   local pages, and headings also carry the anchors Quarto gives them (`#arraydataset.subset`), so that
   nbdev's links land on the right heading. TeX math in Markdown cells, `$...$` and `$$...$$` (not inside code
   blocks or code spans), is converted to MathML by `latex2mathml`, which the browser draws itself: no MathJax,
   nothing loaded. Code blocks sit in a box, and long code lines wrap.
3. A plotly figure is stored in a notebook as `application/vnd.plotly.v1+json` (data, no JavaScript);
   `SitePreprocessor` turns each into a `<div>` and a `Plotly.newPlot` call (`plotly.io.to_html`). plotly's
   JavaScript is written once, as `OUT/plotly.min.js` from the installed plotly package, and every page with
   a figure loads it. Each page states how many figures it holds (`<meta name="plotly-figures">`), which
   `tools/check_docs.py` compares with what the browser drew.

Pages are named as the Quarto site names them, after the `output-file` that nbdev puts in the front matter:
`index.ipynb` gives `index.html`, `18_puma.ipynb` gives `puma.html`. Every page carries a navigation list of
all the pages built (relative links, so the folder can be opened from disk or moved). Nothing is loaded from
the network: the template's MathJax, require.js, mermaid and widget scripts are left out. A page that contains
the temporary folder or the repository's absolute path is an error.
"""
import argparse, fnmatch, html, re, shutil, subprocess, sys, tempfile
from pathlib import Path

import jinja2, nbformat, yaml
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from traitlets import Dict

root = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------------------------------------------------------
# Markdown as Quarto reads it

_attr_link = re.compile(r'\[([^\]\n]*)\]\(([^)\s]+)\)\{([^}\n]*)\}')
_attr = re.compile(r'([\w-]+)="([^"]*)"|\.([\w-]+)|#([\w-]+)')
_heading = re.compile(r'^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$', re.M)
_fence = re.compile(r'^(```|~~~)')

def pandoc_id(text:str)->str:
    "The identifier pandoc (and so Quarto) gives a heading with `text`: lowercase, punctuation but `_-.` dropped"
    text = re.sub(r'<[^>]+>|[`*]', '', text).lower()
    text = re.sub(r'[^\w\s.-]', '', text)
    text = re.sub(r'\s+', '-', text.strip())
    return re.sub(r'^[^a-z]+', '', text) or 'section'

def nbconvert_id(text:str)->str:
    "The identifier nbconvert gives a heading with `text` (see `nbconvert.filters.strings.add_anchor`)"
    from nbconvert.filters.strings import _convert_header_id
    return _convert_header_id(re.sub(r'<[^>]+>|[`*]', '', text).strip())

def _attr_link_html(m):
    "`[text](url){attrs}` as an HTML anchor"
    text, url, attrs = m.groups()
    kw, cls = {}, []
    for k, v, c, i in _attr.findall(attrs):
        if k: kw[k] = v
        elif c: cls.append(c)
        elif i: kw['id'] = i
    if cls: kw['class'] = ' '.join(cls)
    extra = ''.join(f' {k}="{html.escape(v)}"' for k, v in kw.items())
    return f'<a href="{html.escape(url)}"{extra}>{text}</a>'

def quarto_markdown(md:str, link_map:dict)->str:
    "`md` with pandoc's link attributes as HTML, links in `link_map` replaced, and Quarto's heading anchors added"
    md = _attr_link.sub(_attr_link_html, md)
    for old, new in link_map.items(): md = md.replace(old, new)
    out, in_code = [], False
    for line in md.split('\n'):
        if _fence.match(line.lstrip()): in_code = not in_code
        m = None if in_code else _heading.match(line)
        if m and pandoc_id(m[2]) != nbconvert_id(m[2]):
            line = f'{m[1]} <span id="{pandoc_id(m[2])}"></span>{m[2]}'
        out.append(line)
    return '\n'.join(out)

_code_span = re.compile(r'(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)', re.S)
_math = re.compile(r'(?<![\\$])\$\$(.+?)\$\$'                                   # $$display$$
                   r'|(?<![\\$])\$(?![\s$])((?:\\.|[^$\\\n])*?[^\s\\])\$(?![\d$])', re.S)  # $inline$

def _mathml(m)->str:
    "The TeX of a `_math` match as MathML"
    from latex2mathml.converter import convert
    tex, display = (m[1], 'block') if m[1] is not None else (m[2], 'inline')
    try: return convert(tex.strip(), display=display)
    except Exception as e: raise ValueError(f'cannot convert the TeX ${tex}$ to MathML: {e}') from e

def _math_text(text:str)->str:
    "`text` (Markdown outside code blocks) with its math as MathML, code spans left alone"
    pieces, last = [], 0
    for m in _code_span.finditer(text):
        pieces += [_math.sub(_mathml, text[last:m.start()]), m[0]]; last = m.end()
    return ''.join(pieces + [_math.sub(_mathml, text[last:])])

def tex_mathml(md:str)->str:
    "`md` with its TeX math, `$...$` and `$$...$$` as pandoc reads them, as MathML; code blocks and spans untouched"
    blocks, in_code = [[False]], False   # runs of lines: [is code, line, line...]
    for line in md.split('\n'):
        fence = bool(_fence.match(line.lstrip()))
        if fence and not in_code: blocks.append([True])
        blocks[-1].append(line)
        if fence and in_code: blocks.append([False])
        if fence: in_code = not in_code
    return '\n'.join('\n'.join(b[1:]) if b[0] else _math_text('\n'.join(b[1:])) for b in blocks if len(b) > 1)

def cell_options(source:str):
    "Quarto's `#| key: value` options at the top of a code cell, and the source without them"
    lines, opts = source.split('\n'), {}
    while lines and lines[0].startswith('#|'):
        k, _, v = lines.pop(0)[2:].partition(':')
        opts[k.strip()] = v.strip()
    return opts, '\n'.join(lines)

# ---------------------------------------------------------------------------------------------------------------
# Notebook to page

class SitePreprocessor(Preprocessor):
    "Quarto's part of rendering a processed notebook, for nbconvert; plotly JSON outputs as HTML that draws them"
    link_map = Dict(help='text to replace in Markdown: published page URLs and notebook names to local pages')

    def preprocess(self, nb, resources):
        front = {}
        if nb.cells and nb.cells[0].cell_type == 'raw' and nb.cells[0].source.lstrip().startswith('---'):
            front = yaml.safe_load(nb.cells.pop(0).source.strip().strip('-')) or {}
        nb.metadata.pop('widgets', None)  # widget state needs the CDN's widget manager: the text fallback is shown
        nb.metadata['title'] = front.get('title', resources['metadata']['name'])
        cells, figures = [], 0
        for cell in nb.cells:
            if cell.cell_type == 'markdown':
                try: cell.source = quarto_markdown(tex_mathml(cell.source), self.link_map)
                except ValueError as e: sys.exit(f"{resources['metadata']['name']}: {e}")
            if cell.cell_type != 'code': cells.append(cell); continue
            opts, cell.source = cell_options(cell.source)
            if opts.get('include') == 'false': continue
            if opts.get('echo') == 'false' or not cell.source.strip(): cell.metadata['transient'] = {'remove_source': True}
            if opts.get('output') == 'false': cell.outputs = []
            # a progress bar's saved output is its first frame (0 %): on a page it only looks stalled
            cell.outputs = [o for o in cell.outputs if '<progress' not in str(o.get('data', {}).get('text/html', ''))]
            for out in cell.outputs:
                data = out.get('data', {})
                data.pop('application/vnd.jupyter.widget-view+json', None)
                if 'text/markdown' in data: data['text/markdown'] = quarto_markdown(data['text/markdown'], self.link_map)
                if 'application/vnd.plotly.v1+json' in data:
                    figures += 1
                    data['text/html'] = plotly_html(data.pop('application/vnd.plotly.v1+json'), f'figure-{figures}')
                    data.pop('text/plain', None)
            cells.append(cell)
        nb.cells = cells
        resources['page'] = dict(title=nb.metadata['title'], description=front.get('description', ''), figures=figures)
        return nb, resources

def plotly_html(fig:dict, div_id:str)->str:
    "A `<div>` and the `Plotly.newPlot` call that draws the stored figure `fig` in it (plotly.js loaded by the page)"
    import plotly.io as pio
    fig = dict(fig)
    config = fig.pop('config', None)
    return pio.to_html(fig, config=config, include_plotlyjs=False, full_html=False, div_id=div_id,
                       default_height='450px', validate=False)

TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}
{%- if resources.page.figures %}<script src="plotly.min.js"></script>{% endif -%}
{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<meta name="plotly-figures" content="{{ resources.page.figures }}">
<style type="text/css">
body.jp-Notebook { display: flex; align-items: flex-start; margin: 0; padding: 0; }
nav.site-nav { position: sticky; top: 0; flex: 0 0 14rem; max-height: 100vh; overflow-y: auto; box-sizing: border-box;
  padding: 1.5rem 1rem; border-right: 1px solid #ddd; font-family: var(--jp-ui-font-family); font-size: 0.9rem; }
nav.site-nav .site-title { font-weight: bold; font-size: 1.05rem; margin-bottom: 0.8rem; }
nav.site-nav ul { list-style: none; padding: 0; margin: 0; }
nav.site-nav li { margin: 0.35rem 0; }
nav.site-nav a { text-decoration: none; color: #2a6fb0; }
nav.site-nav a[aria-current="page"] { font-weight: bold; color: #111; }
main { flex: 1 1 auto; min-width: 0; max-width: 80rem; padding: 1rem 2rem 3rem; }
header.page-title h1 { margin-bottom: 0.2rem; }
header.page-title .description { font-style: italic; font-size: 1.2rem; opacity: 0.7; margin-top: 0; }
.jp-OutputArea-output { overflow-x: auto; }
/* code blocks of the text (and of show_doc's Markdown) in a box; long lines of any code wrap instead of being cut */
.jp-RenderedHTMLCommon.jp-RenderedMarkdown pre { background: #f5f5f5 !important; border: 1px solid #e0e0e0;
  border-radius: 4px; padding: 0.6em 0.8em !important; margin: 0.6em 0 1em !important; }
.jp-RenderedHTMLCommon.jp-RenderedMarkdown .highlight { background: none; margin: 0; padding: 0; }
.jp-RenderedMarkdown pre, .jp-InputArea-editor pre { white-space: pre-wrap !important; overflow-wrap: anywhere; }
math[display="block"] { margin: 0.6em 0; }
</style>
{%- endblock extra_css -%}
{%- block body_header -%}
<body class="jp-Notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<nav class="site-nav"><div class="site-title"><a href="index.html">{{ resources.site.name }}</a></div><ul>
{%- for href, title in resources.site.pages %}
<li><a href="{{ href }}"{% if href == resources.site.current %} aria-current="page"{% endif %}>{{ title | e }}</a></li>
{%- endfor %}
</ul></nav>
<main>
<header class="page-title"><h1>{{ resources.page.title | e }}</h1>
{%- if resources.page.description %}<p class="description">{{ resources.page.description | e }}</p>{% endif %}</header>
{%- endblock body_header -%}
"""

def exporter(link_map:dict)->HTMLExporter:
    "nbconvert's HTML exporter with `SitePreprocessor` and the site's template"
    ex = HTMLExporter(template_name='lab', template_file='site.html.j2', exclude_input_prompt=True,
                      exclude_output_prompt=True, extra_loaders=[jinja2.DictLoader({'site.html.j2': TEMPLATE})])
    ex.register_preprocessor(SitePreprocessor(link_map=link_map), enabled=True)
    return ex

# ---------------------------------------------------------------------------------------------------------------
# The site

def process(nbs:Path, work:Path, only=None)->Path:
    "nbdev's processing of the notebooks in `nbs` (those matching a glob in `only`), in a copy under `work`: the `_proc` folder"
    proj = work/'project'
    (proj/'nbs').mkdir(parents=True)
    shutil.copy(root/'pyproject.toml', proj)
    for f in nbs.iterdir():
        if f.name.startswith(('.', '_runs', '_proc', '_docs')) or f.name == 'sidebar.yml': continue
        if f.suffix == '.ipynb' and only and not any(fnmatch.fnmatch(f.name, g) for g in only): continue
        (shutil.copytree if f.is_dir() else shutil.copy)(f, proj/'nbs'/f.name)
    cmd = "from nbdev.serve import proc_nbs; proc_nbs('nbs', force=True, n_workers=2)"
    r = subprocess.run([sys.executable, '-c', cmd], cwd=proj, capture_output=True, text=True)
    if r.returncode: sys.exit(f"nbdev's processing of the notebooks failed:\n...{r.stderr[-3000:]}")
    return proj/'_proc'

def front_matter(nb)->dict:
    "The YAML front matter nbdev put in the first cell of a processed notebook"
    c = nb.cells[0] if nb.cells else None
    if c is None or c.cell_type != 'raw' or not c.source.lstrip().startswith('---'): return {}
    return yaml.safe_load(c.source.strip().strip('-')) or {}

_cell_keys = dict(code={'id', 'cell_type', 'metadata', 'source', 'outputs', 'execution_count'},
                  markdown={'id', 'cell_type', 'metadata', 'source', 'attachments'},
                  raw={'id', 'cell_type', 'metadata', 'source', 'attachments'})

def tidy(nb):
    "`nb` without what nbdev's processing adds that nbformat's schema rejects: cells' `metadata.execution`, `has_sd`"
    for cell in nb.cells:
        cell.metadata.pop('execution', None)
        for k in set(cell) - _cell_keys.get(cell.cell_type, set(cell)): del cell[k]
    return nb

def build(out:Path, nbs:Path=root/'nbs', only=None)->list:
    "Write the site into `out`: one page per notebook of `nbs` and `plotly.min.js` if a page has a figure; the pages"
    out.mkdir(parents=True, exist_ok=True)
    cfg = yaml.safe_load((nbs/'nbdev.yml').read_text())['website']
    site_url = cfg['site-url'].rstrip('/') + '/'
    with tempfile.TemporaryDirectory() as tmp:
        proc = process(nbs, Path(tmp), only)
        names = sorted(proc.glob('*.ipynb'), key=lambda p: (p.name != 'index.ipynb', p.name))
        if not names: sys.exit(f'no notebooks to build in {nbs}')
        books = {p: tidy(nbformat.read(p, as_version=4)) for p in names}
        pages = {p: front_matter(nb).get('output-file', p.stem + '.html') for p, nb in books.items()}
        titles = {p: front_matter(nb).get('title', p.stem) for p, nb in books.items()}
        link_map = {f'{site_url}{page}': page for page in pages.values()}
        link_map.update({f']({p.name}': f']({pages[p]}' for p in names})
        site = dict(name=cfg.get('title', root.name), pages=[(pages[p], titles[p]) for p in names])
        ex, figures = exporter(link_map), 0
        for p, nb in books.items():
            body, res = ex.from_notebook_node(nb, resources=dict(site=dict(site, current=pages[p]),
                                                                  metadata=dict(name=p.stem)))
            for bad in (tmp, str(root)):
                if bad in body: sys.exit(f'{pages[p]} ({p.name}) contains the path {bad}')
            (out/pages[p]).write_text(body, encoding='utf-8')
            figures += res['page']['figures']
            print(f"{pages[p]:28} {p.name:28} {res['page']['figures']} figure(s)")
        for f in proc.rglob('*'):  # images and other files the notebooks refer to
            if f.is_file() and f.suffix.lower() in ('.png', '.jpg', '.jpeg', '.gif', '.svg'):
                (out/f.relative_to(proc)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(f, out/f.relative_to(proc))
    if figures:
        import plotly.offline
        (out/'plotly.min.js').write_text(plotly.offline.get_plotlyjs(), encoding='utf-8')
    return [pages[p] for p in names]

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', type=Path, required=True, help='folder to write the site into')
    p.add_argument('--nbs', type=Path, default=root/'nbs', help='the notebooks (and nbdev.yml, _quarto.yml)')
    p.add_argument('--only', nargs='+', metavar='GLOB', help='build only the notebooks matching these globs')
    a = p.parse_args()
    pages = build(a.out.resolve(), a.nbs.resolve(), a.only)
    print(f'{len(pages)} pages in {a.out}')
    return 0

if __name__ == '__main__': sys.exit(main())
