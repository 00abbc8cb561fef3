"""The package's streamlit layer: the only code under norm_viz that imports streamlit.

state: URL state and page parameter tables; layout: the page frame, presentation mode, charts;
tensor: the sidebar's tensor; norm: the norm picker, the result and the chosen cell.
Pages use it as `from norm_viz import ui`.
"""

from norm_viz.core.numbers import fmt, tex
from norm_viz.core.params import Param, choice, flag, float_in, int_in, number_list
from norm_viz.ui.cube import cube
from norm_viz.ui.layout import (
    BAD_BG,
    GOOD_BG,
    begin_page,
    chart,
    end_page,
    neighbours,
    page_link,
    presentation_toggle,
    presenting,
    register_pages,
    verdict_table,
)
from norm_viz.ui.norm import (
    cell_inputs,
    clicked_cell,
    init_cell,
    norm_controls,
    run_norm,
    user_result,
)
from norm_viz.ui.real import source_lengths
from norm_viz.ui.safety import checkpoint, friendly_errors, literal
from norm_viz.ui.state import (
    CELL_KEYS,
    GLOBAL_KEYS,
    SHARED_KEYS,
    clamp,
    config,
    declare,
    init_state,
    notice,
    remember,
    show_url_notices,
    sync_url,
    values,
)
from norm_viz.ui.tensor import (
    HASH_FUNCS,
    MAX_B,
    MAX_F,
    MAX_S,
    SOURCES,
    build_tensor,
    generated_tensor,
    table_of,
    tensor_controls,
    tensor_digest,
    tensor_editor,
    user_tensor,
)

__all__ = [
    "BAD_BG",
    "CELL_KEYS",
    "GLOBAL_KEYS",
    "GOOD_BG",
    "HASH_FUNCS",
    "MAX_B",
    "MAX_F",
    "MAX_S",
    "SHARED_KEYS",
    "SOURCES",
    "Param",
    "begin_page",
    "build_tensor",
    "cell_inputs",
    "chart",
    "checkpoint",
    "choice",
    "clamp",
    "clicked_cell",
    "config",
    "cube",
    "declare",
    "end_page",
    "flag",
    "float_in",
    "fmt",
    "friendly_errors",
    "generated_tensor",
    "init_cell",
    "init_state",
    "int_in",
    "literal",
    "neighbours",
    "norm_controls",
    "notice",
    "number_list",
    "page_link",
    "presentation_toggle",
    "presenting",
    "register_pages",
    "remember",
    "run_norm",
    "show_url_notices",
    "source_lengths",
    "sync_url",
    "table_of",
    "tensor_controls",
    "tensor_digest",
    "tensor_editor",
    "tex",
    "user_result",
    "user_tensor",
    "values",
    "verdict_table",
]
