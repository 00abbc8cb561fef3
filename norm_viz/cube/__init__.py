"""The one cube of norm-viz: the lighting rule sent to the browser (rule.py), the payload the browser cube draws
from (data.py), its script and style (cube.js, cube.css) and the server-side drawing of the same cube as SVG or PNG
(static.py). No streamlit here: norm_viz/ui/cube.py wraps cube.js as a Streamlit component."""
