"""Sum up the convergence matrix cells written by ``make matrix`` (one JSON line per cell)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(path: str) -> int:
    cells = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    runs = sum(c["runs"] for c in cells)
    held = sum(c["held"] for c in cells)
    stops = [c["worstStopToConvergedSeconds"] for c in cells if "worstStopToConvergedSeconds" in c]
    print(f"convergence matrix: {len(cells)} cells, {runs} runs, {held} held")
    if stops:
        print(f"worst time from a stop to a converged endpoint: {max(stops):.0f} virtual seconds")
    for cell in sorted(cells, key=lambda c: c["cell"]):
        worst = cell.get("worstStopToConvergedSeconds")
        extra = f", worst stop -> converged {worst:.0f} s" if worst is not None else ""
        print(f"  {cell['cell']}: {cell['runs']} runs, {cell['held']} held{extra}")
    return 0 if runs == held else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
