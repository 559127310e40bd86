"""Write README.md from nbs/index.ipynb, as `nbdev-readme` does where Quarto can be installed.

nbdev processes the notebook as it does for the documentation site (`nbdev-proc-nbs`: directives applied,
hidden cells dropped, the title and description moved to front matter), and nbconvert turns the processed
notebook into Markdown.

    python tools/readme.py           # rewrite README.md
    python tools/readme.py --check   # exit 1 if README.md is not what index.ipynb gives (CI runs this)
"""
import argparse, subprocess, sys
from pathlib import Path
import nbformat, yaml
from nbconvert import MarkdownExporter
from modidx import rewrap   # tools/modidx.py

root = Path(__file__).resolve().parents[1]

def render():
    "The README that nbs/index.ipynb gives"
    subprocess.run(['nbdev-proc-nbs', '--file-glob', 'index.ipynb', '--force'], cwd=root, check=True, capture_output=True)
    rewrap()   # nbdev-proc-nbs writes nbdev's symbol index again, at its own width
    nb = nbformat.read(root/'_proc'/'index.ipynb', as_version=4)
    front = yaml.safe_load(nb.cells.pop(0).source.strip().strip('-'))
    for cell in nb.cells: cell.metadata.pop('execution', None)
    nb.metadata['language_info'] = dict(name='python')  # fenced code blocks say `python`
    body, _ = MarkdownExporter().from_notebook_node(nb)
    return f"# {front['title']}\n\n> {front['description']}\n\n{body.strip()}\n"

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--check', action='store_true', help='compare only')
    text, readme = render(), root/'README.md'
    if not p.parse_args().check: readme.write_text(text); return 0
    if readme.exists() and readme.read_text() == text: return 0
    print("README.md is not in step with nbs/index.ipynb: run `python tools/readme.py`", file=sys.stderr)
    return 1

if __name__ == '__main__': sys.exit(main())
