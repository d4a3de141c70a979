"""The explorer's views in tab order: the one list that drives the tabs, the link and the build.

A view is a module in this package that defines `VIEW = ViewSpec(name, title, State, View)` (see
explorer.app.registry), named after the module; to add one, write the module and add its name here.
"""

from explorer.app.registry import Registry

VIEWS = Registry.from_modules(__name__, [
    "explore",
    "interpolate",
    "analogy",
    "mine",
    "attributes",
    "sampling",
    "compare",
    "exemplars",
    "diagnostics",
    "map",
])

