"""HoloViews with its Bokeh backend loaded once per process, for the views' plots."""

import holoviews as hv

if hv.Store.current_backend != "bokeh" or "bokeh" not in hv.Store.renderers:
    hv.extension("bokeh", logo=False)

__all__ = ["hv"]
