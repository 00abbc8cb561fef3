"""The Explorer component's script and style: the shared cube renderer (norm_viz/cube/cube.js, its default export
renamed mountCube, so that the Explorer draws its cube with the app's one renderer) followed by explorer.js.

No streamlit: ui/explorer.py registers the component, the node tests run the same text.
"""

from __future__ import annotations

from pathlib import Path

_HOME = Path(__file__).resolve().parent.parent
ENTRY = "export default function (component) {"
"""cube.js's default export, which the Explorer calls as mountCube."""


def script() -> str:
    """cube.js with its default export renamed mountCube, then explorer.js (whose default export mounts the page)."""
    cube = (_HOME / "cube" / "cube.js").read_text()
    if ENTRY not in cube:
        raise RuntimeError("norm_viz/cube/cube.js lost its default export, which the Explorer mounts as mountCube")
    return (
        cube.replace(ENTRY, "function mountCube(component) {", 1)
        + "\n"
        + (_HOME / "explore" / "explorer.js").read_text()
    )


def style() -> str:
    """cube.css then explorer.css."""
    return (_HOME / "cube" / "cube.css").read_text() + "\n" + (_HOME / "explore" / "explorer.css").read_text()
