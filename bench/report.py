"""`python -m bench.report FILE.json`: a results file as the Markdown table the README shows."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _cell(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "\\|")


def to_markdown(doc: dict[str, Any]) -> str:
    """The figures as a Markdown table followed by the machine line."""
    lines = [
        "| figure | value | target | reference | ratio | met? |",
        "|---|--:|---|---|--:|:-:|",
    ]
    for f in doc["figures"]:
        met = {True: "yes", False: "**no**", None: ""}[f.get("met")]
        lines.append(
            "| "
            + " | ".join(
                _cell(v)
                for v in (
                    f["label"],
                    f["display"],
                    f.get("target"),
                    f.get("reference"),
                    f.get("ratio"),
                    met,
                )
            )
            + " |"
        )
    m = doc["machine"]
    mode = "quick run" if doc.get("mode") == "quick" else f"medians of {doc['runs']} runs"
    lines += [
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB RAM; {m['os']}; "
        f"Python {m['python']}; SQLite {m['sqlite']}; commit {m['commit']}; "
        f"{mode}, {doc['created']}; load average {m.get('load_average', '?')}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m bench.report RESULTS.json", file=sys.stderr)
        return 2
    doc = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    print(to_markdown(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
